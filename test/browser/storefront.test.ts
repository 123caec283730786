/**
 * The storefront page (GET /) in a real headless browser — Debian's chromium driven by
 * playwright-core — against the real stack: buy, see the order go reserved → pending
 * with its expiry countdown, cancel, see the stock come back; refusals in words (not
 * started with the countdown to the start, limit, sold out; the raw API text never); an
 * unknown product; buyer sign-in (BUYER_AUTH=jwt). A screenshot of the page with a live
 * order is kept at .data/artifacts/storefront.png (docs/storefront.png is a copy), and one
 * of each other state there as storefront-<state>.png.
 */
import { jest } from "@jest/globals";
import { useBrowser } from "../support/browser.ts";
import { mkdirSync } from "node:fs";
import { type Browser, type Page } from "playwright-core";
import { startStack, useStack, type Stack } from "../support/stack.ts";
import { BUYER_SECRET } from "../support/buyer-tokens.ts";

jest.setTimeout(120_000);

const ARTIFACTS = new URL("../../.data/artifacts/", import.meta.url).pathname;
let stack: Stack;
let browser: Browser;
useStack((s) => (stack = s));
useBrowser((b) => (browser = b));

/** The storefront of `productId` (any text: the page's query), once live unless `live` is false. */
async function open(productId: number | string, { on = stack, live = true } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 640, height: 680 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  await page.goto(`${on.baseUrl}/?product=${productId}`);
  if (live) await page.locator("#connection[data-state=live]").waitFor();
  (page as Page & { errors: string[] }).errors = errors;
  return page;
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();
const screenshot = async (page: Page, state: string) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}storefront-${state}.png`, fullPage: true });
};

test("buy, watch the order go reserved → pending with its countdown, cancel, and see the stock come back", async () => {
  const p = await stack.createProduct({ name: "Console X", price_cents: 49900, stock: 10, per_user_limit: 2, max_per_order: 2 });
  const page = await open(p.id);
  expect(await text(page, "#name")).toBe("Console X");
  await page.locator("#stock", { hasText: /^10$/ }).waitFor();
  expect(await text(page, "#sale")).toBe("On sale now");

  await page.selectOption("#qty", "2");
  await page.click("#buy");
  await page.locator("#timeline li[data-status=pending]").waitFor();
  expect(await page.locator("#timeline li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-status")))).toEqual(["reserved", "pending"]);
  expect(await page.locator("#status").getAttribute("data-status")).toBe("pending");
  expect(await text(page, "#countdown")).toMatch(/^Pay within (10:00|09:5\d)$/);
  await page.locator("#stock", { hasText: /^8$/ }).waitFor(); // the product stream
  const orderId = await text(page, "#order-id");
  expect((await stack.http("GET", `/api/orders/${orderId}`)).body.status).toBe("pending");

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}storefront.png`, fullPage: true });

  await page.click("#cancel");
  await page.locator("#status[data-status=cancelled]").waitFor();
  await page.locator("#stock", { hasText: /^10$/ }).waitFor();
  expect(await page.locator("#cancel").isHidden()).toBe(true);
  expect((await stack.http("GET", `/api/orders/${orderId}`)).body.status).toBe("cancelled");
  expect((page as Page & { errors: string[] }).errors).toEqual([]);
});

test("refusals are shown in words: not started (with the countdown to the start), the per-buyer limit, sold out", async () => {
  const later = await stack.createProduct({ stock: 5, sale_starts_at: new Date(Date.now() + 3_600_000).toISOString() });
  const page = await open(later.id);
  expect(await text(page, "#sale")).toMatch(/^The sale starts in (59:\d\d|01:00:0[01])$/);
  await page.click("#buy");
  await page.locator("#refusal[data-code=SALE_NOT_ACTIVE]").waitFor();
  expect(await text(page, "#refusal")).toMatch(/^The sale has not started yet\. It starts in (59:\d\d|01:00:0[01])\.$/);

  const limited = await stack.createProduct({ stock: 5, per_user_limit: 1, max_per_order: 1 });
  await page.goto(`${stack.baseUrl}/?product=${limited.id}`);
  await page.locator("#connection[data-state=live]").waitFor();
  const buyer = await text(page, "#buyer");
  expect((await stack.http("POST", "/api/orders", { product_id: limited.id, qty: 1, user_id: buyer })).status).toBe(202);
  await page.click("#buy");
  await page.locator("#refusal[data-code=LIMIT_EXCEEDED]").waitFor();
  expect(await text(page, "#refusal")).toBe("Limit reached: each buyer may hold 1 of this product, and you already hold 1.");

  const scarce = await stack.createProduct({ stock: 1 });
  await page.goto(`${stack.baseUrl}/?product=${scarce.id}`);
  await page.locator("#connection[data-state=live]").waitFor();
  expect((await stack.http("POST", "/api/orders", { product_id: scarce.id, qty: 1, user_id: "someone-else" })).status).toBe(202);
  await page.locator("#sale[data-phase=soldout]").waitFor(); // live: the page was told
  await page.click("#buy");
  await page.locator("#refusal[data-code=SOLD_OUT]").waitFor();
  expect(await text(page, "#refusal")).toMatch(/^Sold out: every unit is taken\./);
});

test("after the buyer cancels, the limit refusal (\"you already hold 2\") goes away and they can buy again", async () => {
  const p = await stack.createProduct({ name: "Headphones", stock: 10, per_user_limit: 2, max_per_order: 2 });
  const page = await open(p.id);
  await page.selectOption("#qty", "2");
  await page.click("#buy");
  await page.locator("#status[data-status=pending]").waitFor();
  await page.click("#buy");
  await page.locator("#refusal[data-code=LIMIT_EXCEEDED]").waitFor();
  expect(await text(page, "#refusal")).toBe("Limit reached: each buyer may hold 2 of this product, and you already hold 2.");

  await page.click("#cancel");
  await page.locator("#status[data-status=cancelled]").waitFor();
  expect(await page.locator("#refusal").isHidden()).toBe(true);
  await screenshot(page, "cancelled");
  await page.click("#buy");
  await page.locator("#status[data-status=pending]").waitFor();
  expect(await page.locator("#refusal").isHidden()).toBe(true);
  expect((page as Page & { errors: string[] }).errors).toEqual([]);
});

test("an unknown product says it does not exist, without a stock line, a buy button or \"offline\"", async () => {
  for (const id of ["987654321", "abc"]) {
    const page = await open(id, { live: false });
    await page.locator("#name", { hasText: "This product does not exist" }).waitFor();
    expect(await text(page, "#missing")).toBe(`There is no product "${id}" in this shop: check the link you followed.`);
    expect(await page.locator("#offer").isHidden()).toBe(true);
    expect(await page.locator("#connection").isHidden()).toBe(true);
    const shown = await page.locator("body").innerText();
    expect(shown).not.toMatch(/offline|– of –|Buy now/);
    if (id === "abc") await screenshot(page, "unknown");
    await page.context().close();
  }
});

describe("with buyer sign-in (BUYER_AUTH=jwt)", () => {
  let jwtStack: Stack;
  beforeAll(async () => {
    jwtStack = await startStack({ BUYER_AUTH: "jwt", BUYER_JWT_SECRET: BUYER_SECRET });
  });
  afterAll(() => jwtStack?.stop());

  test("buying without a sign-in says so in words and what to do, never the API's raw error text", async () => {
    const p = await jwtStack.createProduct({ name: "Members' drop", stock: 5 });
    const page = await open(p.id, { on: jwtStack });
    const raw = await jwtStack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "someone" });
    expect(raw.status).toBe(401);
    await page.click("#buy");
    await page.locator("#refusal[data-code=UNAUTHORIZED]").waitFor();
    const said = await text(page, "#refusal");
    expect(said).toBe("Nothing was reserved. You are not signed in (or your sign-in has expired): this shop sells only to signed-in buyers. " +
      "Sign in on the shop's site, then try again.");
    expect(said).not.toContain(raw.body.error.message);
    await screenshot(page, "sign-in");
    expect((await jwtStack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(5);
  });
});

describe("with live streams that hand over often (SSE_MAX_BUFFERED_BYTES at its least)", () => {
  let small: Stack;
  beforeAll(async () => {
    small = await startStack({ SSE_MAX_BUFFERED_BYTES: "1024", PRODUCT_UPDATE_INTERVAL_MS: "50" });
  });
  afterAll(() => small?.stop());

  test("a stream's planned hand-over never shows \"reconnecting\", and the page misses no update across them", async () => {
    const p = await small.createProduct({ name: "Restocked", stock: 1 });
    const page = await open(p.id, { on: small });
    // every state the connection pill takes, as the buyer would see it
    await page.evaluate(() => {
      const pill = document.getElementById("connection")!;
      const states: string[] = ((window as unknown as { states: string[] }).states = []);
      new MutationObserver(() => states.push(pill.dataset.state ?? "")).observe(pill, { attributes: true, attributeFilter: ["data-state"] });
    });
    for (let i = 0; i < 24; i++) {
      const r = await small.http("POST", `/api/admin/products/${p.id}/restock`, { add: 1 }, { authorization: "Bearer test-admin-token" });
      expect(r.status).toBe(200);
      await page.locator("#stock", { hasText: new RegExp(`^${i + 2}$`) }).waitFor();
    }
    const states = await page.evaluate(() => (window as unknown as { states: string[] }).states);
    // it handed over (each hand-over is one reconnect: "live" again) and never looked lost
    expect(states.filter((s) => s === "live").length).toBeGreaterThanOrEqual(3);
    expect(states.filter((s) => s !== "live")).toEqual([]);
    await page.context().close();
  });
});
