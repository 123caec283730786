/// <reference lib="dom" />
/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core)
 * against a real stack: sign in with the admin token, watch a burst of orders move
 * the numbers, keep a screenshot (.data/artifacts/dashboard.png).
 */
import { jest } from "@jest/globals";
import { useBrowser } from "../support/browser.ts";
import { mkdirSync } from "node:fs";
import { type Browser, type Page } from "playwright-core";
import { useStack, ADMIN_TOKEN, type Stack } from "../support/stack.ts";

jest.setTimeout(90_000);

const SCREENSHOT = ".data/artifacts/dashboard.png";
let stack: Stack;
let browser: Browser;
useStack((s) => (stack = s));
useBrowser((b) => (browser = b));

/** The text of one cell of the products table, in the row of `productId`. */
const productCell = (page: Page, productId: number, column: number) =>
  page.evaluate(([id, col]) => {
    const row = [...document.querySelectorAll("#products tbody tr")].find((tr) => tr.children[0].textContent === String(id));
    return row ? row.children[col].textContent : null;
  }, [productId, column] as const);
const answerTotal = (page: Page, answer: string) =>
  page.evaluate((a) => {
    const row = [...document.querySelectorAll("#answers tbody tr")].find((tr) => tr.children[0].textContent === a);
    return row ? Number(row.children[2].textContent!.replace(/,/g, "")) : 0;
  }, answer);

test("signed in with the admin token, the dashboard goes live and its numbers move during a burst of orders", async () => {
  const sold = await stack.createProduct({ name: "Warm-up", stock: 3 });
  const p = await stack.createProduct({ name: "Limited sneaker", stock: 300, max_per_order: 2 });
  // a product sold through a line: three join, two units, one waits
  const queued = await stack.createProduct({
    name: "Queued jacket", stock: 2, per_user_limit: 1, max_per_order: 1, access: "queue", sale_starts_at: new Date(Date.now() + 2000).toISOString(),
  });
  for (const user of ["line-1", "line-2", "line-3"]) expect((await stack.http("POST", `/api/products/${queued.id}/queue`, { user_id: user })).status).toBe(201);
  await stack.http("POST", "/api/orders", { product_id: sold.id, qty: 1, user_id: "early" });

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await page.goto(stack.baseUrl + "/dashboard");

  // a wrong token is refused, and says so
  await page.fill("#token", "not-the-token");
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.getElementById("login-error")!.textContent!.includes("refused"));
  expect(await page.isVisible("#board")).toBe(false);

  await page.fill("#token", ADMIN_TOKEN);
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.getElementById("status")!.textContent === "live");
  await page.waitForFunction((id) => [...document.querySelectorAll("#products tbody tr")].some((tr) => tr.children[0].textContent === String(id)), p.id);
  expect(await productCell(page, p.id, 2)).toBe("300");
  // the line's row: the draw admitted two (their units set aside), one waits; no line row for a product sold open
  const lineRow = () => page.evaluate((id) => {
    const row = [...document.querySelectorAll("#lines tbody tr")].find((tr) => tr.children[0].textContent === String(id));
    return row ? [...row.children].map((td) => td.textContent) : null;
  }, queued.id);
  await page.waitForFunction((id) => [...document.querySelectorAll("#lines tbody tr")]
    .some((tr) => tr.children[0].textContent === String(id) && tr.children[5].textContent === "2"), queued.id);
  expect(await lineRow()).toEqual(["" + queued.id, "Queued jacket", "queue", "3", "1", "2", expect.any(String), "0", "0", "0", "units", "admitting"]);
  expect(await page.isVisible("#lines")).toBe(true);
  expect(await page.evaluate(() => [...document.querySelectorAll("#lines tbody tr")].length)).toBe(1);
  const before = await answerTotal(page, "202");

  // the burst: 240 buyers, 2 units each, against 300 units, and a few refusals
  const replies = await Promise.all(Array.from({ length: 240 }, (_, i) =>
    stack.http("POST", "/api/orders", { product_id: p.id, qty: i < 150 ? 2 : 1, user_id: `burst-${i}` })));
  const accepted = replies.filter((r) => r.status === 202).length;
  const refusedCount = replies.filter((r) => r.status === 409).length;
  expect(accepted + refusedCount).toBe(240);
  await page.waitForFunction(([id, expected]) => {
    const row = [...document.querySelectorAll("#products tbody tr")].find((tr) => tr.children[0].textContent === String(id));
    return row?.children[2].textContent === String(expected);
  }, [p.id, 300 - replies.filter((r) => r.status === 202).reduce((n, r) => n + r.body.qty, 0)] as const).catch(async (err) => {
    throw new Error(`${err}: products row is ${await productCell(page, p.id, 2)}`);
  });
  await page.waitForFunction(([n]) => {
    const row = [...document.querySelectorAll("#answers tbody tr")].find((tr) => tr.children[0].textContent === "202");
    return row && Number(row.children[2].textContent!.replace(/,/g, "")) >= n;
  }, [before + accepted] as const);
  expect(await answerTotal(page, "202")).toBe(before + accepted);
  expect(Number(await productCell(page, p.id, 3))).toBeGreaterThan(0); // reserved
  // the sparkline of the product has points
  const points = await page.evaluate((id) => {
    const row = [...document.querySelectorAll("#products tbody tr")].find((tr) => tr.children[0].textContent === String(id));
    return row!.querySelector("polyline.available")!.getAttribute("points")!.split(" ").length;
  }, p.id);
  expect(points).toBeGreaterThan(1);
  await page.waitForFunction(() => document.getElementById("audit")!.textContent === "ok");
  expect(await page.isVisible("#login")).toBe(false);

  // the screenshot shows a drop in progress: buyers keep arriving at the sold-out product
  let running = true;
  const load = (async () => {
    for (let n = 0; running; n++) {
      await Promise.all(Array.from({ length: 4 }, (_, i) => stack.http("POST", "/api/orders", { product_id: sold.id, qty: 1, user_id: `late-${n}-${i}` })));
    }
  })();
  try {
    await page.waitForFunction(() => (document.querySelector("#rps-spark polyline")?.getAttribute("points")?.split(" ").length ?? 0) >= 6 &&
      Number(document.getElementById("rps")!.textContent!.replace(/,/g, "")) > 0);
    mkdirSync(".data/artifacts", { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  } finally {
    running = false;
    await load;
  }
  // the session cookie is out of the page's scripts' reach; signing out drops it
  expect(await page.evaluate(() => document.cookie)).not.toContain("flash_dashboard");
  expect((await page.context().cookies()).map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([["flash_dashboard", true, "Strict"]]);
  await page.click("#logout");
  await page.waitForFunction(() => document.getElementById("status")!.textContent === "signed out");
  expect(await page.isVisible("#login")).toBe(true);
  await page.waitForFunction(() => sessionStorage.length === 0);
  expect(await page.context().cookies()).toEqual([]);
  // the token went in a header, never in an address
  expect(urls.filter((u) => u.includes(ADMIN_TOKEN))).toEqual([]);
  await page.close();
});
