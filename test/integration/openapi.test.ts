/**
 * The OpenAPI document cannot drift: every route the gateway serves has its path, every
 * error code of API.md appears, the document is valid OpenAPI 3.1, the served document is
 * the generated one, the committed client types are a fresh generation, and /docs renders
 * it from files this gateway serves (nothing from another origin).
 */
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import gatewayService from "../../services/gateway/gateway.service.ts";
import { ORDERS_PATH } from "../../services/gateway/order-route.ts";
import { openApiDocument } from "../../services/gateway/openapi/document.ts";
import { CLIENT_TYPES_FILE, generateClientTypes } from "../../services/gateway/openapi/client-types.ts";
import { startStack, testConfig, type Stack } from "../support/stack.ts";

/** The error table of API.md ("Errors"), and the webhook's AMOUNT_MISMATCH. */
const API_MD_ERROR_CODES = [
  "BAD_REQUEST", "UNAUTHORIZED", "INVALID_SIGNATURE", "PRODUCT_NOT_FOUND", "ORDER_NOT_FOUND", "NOT_FOUND", "SOLD_OUT",
  "INSUFFICIENT_STOCK", "SALE_NOT_ACTIVE", "LIMIT_EXCEEDED", "VALIDATION_ERROR", "IDEMPOTENCY_KEY_REUSED", "RATE_LIMITED",
  "UNAVAILABLE", "FORBIDDEN", "ORDER_NOT_CANCELLABLE", "AMOUNT_MISMATCH",
  "ENTRY_REQUIRED", "ENTRY_INVALID", "ENTRY_USED", "CHALLENGE_FAILED", "QUEUE_NOT_OPEN", "QUEUE_CLOSED", "TICKET_NOT_FOUND",
];

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, any> }>>;
  components: { schemas: { ErrorCode: { enum: string[] } } };
};
const doc = openApiDocument() as unknown as Doc;

/** "GET /api/orders/{id}" for every alias of every moleculer-web route, and the hot route. */
function servedRoutes(): string[] {
  const routes = (gatewayService(testConfig()).settings as { routes: Array<{ path: string; aliases: Record<string, unknown> }> }).routes;
  const served = [`POST ${ORDERS_PATH}`];
  for (const route of routes) {
    for (const alias of Object.keys(route.aliases)) {
      const [method, path] = alias.split(/\s+/);
      const full = `${route.path}/${path}`.replace(/\/+/g, "/").replace(/\/$/, "") || "/";
      served.push(`${method.toUpperCase()} ${full.replace(/:(\w+)/g, "{$1}")}`);
    }
  }
  return served;
}

test("the document is valid OpenAPI 3.1", async () => {
  const result = await new Validator().validate(openApiDocument());
  expect(result).toEqual({ valid: true });
  expect(openApiDocument().openapi).toBe("3.1.0");
});

test("every route the gateway serves has its path and method in the document", () => {
  const routes = servedRoutes();
  expect(routes).toEqual(expect.arrayContaining(["POST /api/orders", "GET /api/orders/{id}", "GET /api/admin/audit", "GET /docs"]));
  const missing = routes.filter((r) => {
    const [method, path] = r.split(" ");
    return !doc.paths[path]?.[method.toLowerCase()];
  });
  expect(missing).toEqual([]);
});

test("every error code of API.md is documented, each on the operations that answer it", () => {
  expect(doc.components.schemas.ErrorCode.enum).toEqual(expect.arrayContaining(API_MD_ERROR_CODES));
  const answered = new Set<string>();
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      for (const r of Object.values(op.responses)) {
        for (const code of r.content?.["application/json"]?.schema?.properties?.error?.properties?.code?.enum ?? []) answered.add(code);
      }
    }
  }
  // NOT_FOUND (an unknown path) belongs to no operation
  expect(API_MD_ERROR_CODES.filter((c) => c !== "NOT_FOUND" && !answered.has(c))).toEqual([]);
});

test("the inputs are the validators' own schemas: limits of params.ts show in the document", () => {
  const order = doc.paths["/api/orders"].post as any;
  const body = order.requestBody.content["application/json"].schema;
  expect(body).toMatchObject({
    type: "object", required: ["product_id", "qty"], additionalProperties: false,
    properties: { product_id: { type: "integer", minimum: 1, maximum: 2_147_483_647 }, user_id: { type: "string", minLength: 1, maxLength: 64 } },
  });
  expect(order.parameters).toEqual([
    expect.objectContaining({ name: "Idempotency-Key", in: "header", schema: { type: "string", pattern: "^[\\x20-\\x7e]{1,128}$" } }),
    expect.objectContaining({ name: "Entry-Token", in: "header", schema: { type: "string", minLength: 1 } }),
  ]);
  const ticket = doc.paths["/api/products/{id}/queue/{ticket_id}"].get as any;
  expect(ticket.parameters.map((p: { name: string; in: string }) => `${p.in} ${p.name}`)).toEqual(["path id", "path ticket_id"]);
  expect(ticket.parameters[1].schema).toEqual({ type: "string", pattern: "^[A-Za-z0-9_-]{16,64}$" });
  const join = (doc.paths["/api/products/{id}/queue"].post as any).requestBody.content["application/json"].schema;
  expect(join).toMatchObject({ type: "object", additionalProperties: false, properties: { user_id: { maxLength: 64 }, challenge: { type: "string" } } });
  expect(join.required).toBeUndefined();
  const restock = doc.paths["/api/admin/products/{id}/restock"].post as any;
  expect(restock.parameters[0]).toMatchObject({ name: "id", in: "path", schema: { type: "integer" } });
  expect(Object.keys(restock.requestBody.content["application/json"].schema.properties)).toEqual(["add"]);
  const webhook = (doc.paths["/api/payments/webhook"].post as any).requestBody.content["application/json"].schema;
  expect(webhook.properties.status).toEqual({ type: "string", enum: ["succeeded", "failed"] });
});

test("the committed client types are what a fresh generation gives (run npm run client:generate)", async () => {
  expect(readFileSync(CLIENT_TYPES_FILE, "utf8")).toBe(await generateClientTypes());
});

describe("served by the gateway", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SERVICES: "gateway" });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test("GET /api/openapi.json is the generated document", async () => {
    const r = await stack.http("GET", "/api/openapi.json");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  test("GET /docs loads only files of this gateway, under a policy that forbids every other origin", async () => {
    const page = await fetch(`${stack.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/connect-src 'self'(;|$)/);
    expect(csp).not.toMatch(/https?:|\*/);

    const html = await page.text();
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    expect(urls.filter((u) => !u.startsWith("/") || u.startsWith("//"))).toEqual([]);
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script

    const types: Record<string, RegExp> = { ".js": /^text\/javascript/, ".css": /^text\/css/, ".png": /^image\/png/ };
    for (const url of urls) {
      const asset = await fetch(stack.baseUrl + url);
      expect({ url, status: asset.status }).toEqual({ url, status: 200 });
      expect(asset.headers.get("content-type")).toMatch(types[url.slice(url.lastIndexOf("."))]);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    const init = await (await fetch(`${stack.baseUrl}/docs/assets/api-reference.js`)).text();
    expect(init).toMatch(/url: "\/api\/openapi.json"/);
    expect(init).toMatch(/validatorUrl: null/);
  });

  test.each(["/docs/assets/package.json", "/docs/assets/..%2F..%2Fpackage.json", "/docs/assets/swagger-ui-bundle.js.map", "/docs/nothing"])(
    "GET %s → 404 NOT_FOUND with the envelope",
    async (path) => {
      const r = await stack.http("GET", path);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: expect.objectContaining({ code: "NOT_FOUND" }) });
    },
  );
});
