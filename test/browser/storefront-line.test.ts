/**
 * The storefront of a product sold through a line (API.md, "Fair access") in a real
 * headless Chromium against the real stack: the page joins the line, shows its place and
 * wait moving, the buyer's turn with the entry's countdown, buys with the entry (the order
 * reserved); a line with nothing to sell says so at once; before the line opens the page
 * says when; leaving. Screenshots in .data/artifacts/storefront-line*.png
 * (docs/storefront-line.png is a copy of the page in line).
 */
/// <reference lib="dom" />
import { jest } from "@jest/globals";
import { mkdirSync } from "node:fs";
import { type Browser, type Page } from "playwright-core";
import { useBrowser } from "../support/browser.ts";
import { openSse } from "../support/event-stream.ts";
import { useStack, type Stack } from "../support/stack.ts";

jest.setTimeout(120_000);

const ARTIFACTS = new URL("../../.data/artifacts/", import.meta.url).pathname;
let stack: Stack;
let browser: Browser;
useStack((s) => (stack = s));
useBrowser((b) => (browser = b));

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
/** A product sold through a queue, one unit per entry, drawn `drawIn` seconds from now. */
const queueProduct = (fields: Record<string, unknown>, drawIn: number) =>
  stack.createProduct({ name: "Sneaker drop", price_cents: 12_000, per_user_limit: 1, max_per_order: 1, access: "queue", sale_starts_at: inSeconds(drawIn), ...fields });

type Watched = Page & { errors: string[] };

/** The storefront of `productId`, once its product stream is live; page errors are collected. */
async function open(productId: number): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 640, height: 680 } });
  const page = (await context.newPage()) as Watched;
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) page.errors.push(m.text());
  });
  await page.goto(`${stack.baseUrl}/?product=${productId}`);
  await page.locator("#connection[data-state=live]").waitFor();
  return page;
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();
async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

test("the page joins the line, shows its place and wait moving, then the buyer's turn with the entry's countdown; buying with the entry reserves the order", async () => {
  // six units for nine buyers ahead: six are let in at the draw, three wait; the page's buyer joins after the draw, behind them
  const p = await queueProduct({ stock: 6 }, 1);
  const page = await open(p.id);
  const ahead = [];
  for (let i = 0; i < 9; i++) ahead.push((await stack.http("POST", `/api/products/${p.id}/queue`, { user_id: `ahead-${i}` })).body);
  const first = await openSse(`${stack.baseUrl}/api/products/${p.id}/queue/${ahead[0].ticket_id}/events`);
  await first.next((e) => e.data.position !== null || e.data.status === "admitted"); // the order is drawn
  first.close();
  const read = await Promise.all(ahead.map(async (t) => (await stack.http("GET", `/api/products/${p.id}/queue/${t.ticket_id}`)).body));
  const admitted = read.filter((t) => t.status === "admitted");
  expect(admitted).toHaveLength(6);
  expect(read.filter((t) => t.status === "waiting").map((t) => t.position).sort()).toEqual([1, 2, 3]);

  expect(await page.locator("#buy-form").isHidden()).toBe(true);
  expect(await text(page, "#line-note")).toBe("Join the line: your turn to buy comes in order.");
  await page.click("#join");
  await page.locator("#ticket-status[data-status=waiting]").waitFor();
  await page.locator("#place strong", { hasText: /^4$/ }).waitFor();
  expect(await text(page, "#place")).toMatch(/^You are number 4 in line · about \d+ (s|min)$/);
  expect(await page.locator("#leave").isVisible()).toBe(true);
  // no unit free, but those set aside come back if not bought: not "sold out" while the line may still get them
  expect(await text(page, "#sale")).toBe("No unit is free now; any not bought go back to the line, in order");
  await screenshot(page, "storefront-line");

  // an admitted buyer who leaves gives the unit to the next place: the page's buyer moves up, one place each time
  for (const [i, position] of [[0, 3], [1, 2], [2, 1]]) {
    await stack.http("DELETE", `/api/products/${p.id}/queue/${admitted[i].ticket_id}`);
    await page.locator("#place strong", { hasText: new RegExp(`^${position}$`) }).waitFor();
    expect(await text(page, "#place")).toMatch(new RegExp(`^You are number ${position} in line · about \\d+ (s|min)$`));
  }
  await stack.http("DELETE", `/api/products/${p.id}/queue/${admitted[3].ticket_id}`);
  await page.locator("#ticket-status[data-status=admitted]").waitFor();
  expect(await text(page, "#ticket-status")).toBe("Your turn!");
  expect(await text(page, "#entry-countdown")).toMatch(/^Buy within (02:00|01:5\d)$/);
  expect(await page.locator("#buy-form").isVisible()).toBe(true);
  // every unit is set aside for an entry, one of them for this buyer: not "sold out" to them
  await page.locator("#stock", { hasText: /^0$/ }).waitFor();
  expect(await text(page, "#sale")).toBe("On sale now");
  await screenshot(page, "storefront-line-turn");

  await page.click("#buy");
  await page.locator("#timeline li[data-status=reserved]").waitFor();
  await page.locator("#ticket-status[data-status=used]").waitFor();
  expect(await page.locator("#buy-form").isHidden()).toBe(true);
  expect(await page.locator("#leave").isHidden()).toBe(true);
  const orderId = await text(page, "#order-id");
  const order = await stack.http("GET", `/api/orders/${orderId}`);
  expect(order.body).toMatchObject({ product_id: p.id, qty: 1, user_id: await text(page, "#buyer") });
  expect(page.errors).toEqual([]);
  await page.context().close();
});

test("a line with nothing to sell: the ticket says sold out at once, and the buyer keeps the place", async () => {
  const p = await queueProduct({ stock: 0 }, 3600);
  const page = await open(p.id);
  await page.click("#join");
  await page.locator("#ticket-status[data-status=sold_out]").waitFor();
  expect(await text(page, "#ticket-status")).toBe("Sold out");
  expect(await text(page, "#place")).toBe("Every unit is taken. You keep your place: units that come back go to the line in order.");
  expect(await page.locator("#buy-form").isHidden()).toBe(true);
  expect(await page.locator("#leave").isVisible()).toBe(true);
  await screenshot(page, "storefront-line-sold-out");
  expect(page.errors).toEqual([]);
  await page.context().close();
});

test("before the line opens the page says when, and the join button waits", async () => {
  const p = await queueProduct({ stock: 5, queue_opens_at: inSeconds(3600) }, 7200);
  const page = await open(p.id);
  expect(await text(page, "#line-note")).toMatch(/^The line opens in (59:\d\d|01:00:00)\.$/);
  expect(await page.locator("#join").isDisabled()).toBe(true);
  expect(await page.locator("#buy-form").isHidden()).toBe(true);
  await page.context().close();
});

test("leaving the line is final: the page says so and offers to join again, at the back", async () => {
  const p = await queueProduct({ stock: 5 }, 3600);
  const page = await open(p.id);
  expect(await text(page, "#line-note")).toBe("Everyone who joins before the sale starts gets a place drawn at random; later joiners queue behind them.");
  await page.click("#join");
  await page.locator("#ticket-status[data-status=waiting]").waitFor();
  expect(await text(page, "#place")).toMatch(/^Your place is drawn when the sale starts, in (59:\d\d|01:00:00)\.$/);
  const ticketId = await page.evaluate((id) => localStorage.getItem(`flash-ticket-${id}`), p.id);
  await page.click("#leave");
  await page.locator("#ticket-status[data-status=left]").waitFor();
  expect(await text(page, "#place")).toBe("Your place went to the next buyer. You may join again, at the back.");
  expect(await page.locator("#join").isVisible()).toBe(true);
  expect((await stack.http("GET", `/api/products/${p.id}/queue/${ticketId}`)).body.status).toBe("left");
  expect(page.errors).toEqual([]);
  await page.context().close();
});
