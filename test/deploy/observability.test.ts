/**
 * The Grafana dashboard and the Prometheus alert rules read only series the service
 * really exports: a real node is started and driven a little (an order, refusals, an
 * audit), GET /metrics is scraped, and every metric name and label in every
 * dashboard expression and alert rule must appear in the scrape.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { ADMIN_TOKEN, startStack, type Stack } from "../support/stack.ts";
import { analyze, exposition } from "../support/promql.ts";
import { connectedReplicas } from "../../services/inventory/redis-replication.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/flash-sale.json"), "utf8"));
const alerts = parse(readFileSync(join(ROOT, "deploy/prometheus/alerts.yml"), "utf8"));

const expressions: Array<[string, string]> = [
  ...dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => [`panel "${p.title}"`, t.expr])),
  ...alerts.groups.flatMap((g: any) => g.rules.map((r: any) => [`alert ${r.alert}`, r.expr])),
];

/** Names in `expr` the scrape does not have: metrics, matcher labels, grouping labels. */
function missing(expr: string, scraped: Map<string, Set<string>>): string[] {
  const uses = analyze(expr);
  const out: string[] = [];
  for (const s of uses.series) {
    const labels = scraped.get(s.metric);
    if (!labels) out.push(s.metric);
    else for (const l of s.labels) if (!labels.has(l)) out.push(`${s.metric}{${l}}`);
  }
  for (const l of uses.grouping) {
    if (!uses.series.some((s) => scraped.get(s.metric)?.has(l))) out.push(`by (${l})`);
  }
  return out;
}

describe("the PromQL reader of this test", () => {
  test("finds metrics, matcher labels and grouping labels, skipping functions, strings and durations", () => {
    const uses = analyze('histogram_quantile(0.99, sum by (le, action) (rate(moleculer_request_time_bucket{action="inventory.reserve"}[1m]))) > 0 and max(flash_x) == 0');
    expect(uses.series).toEqual([
      { metric: "moleculer_request_time_bucket", labels: ["action"] },
      { metric: "flash_x", labels: [] },
    ]);
    expect(uses.grouping).toEqual(["le", "action"]);
  });

  test("reports what a scrape lacks (the check can fail)", () => {
    const scraped = exposition('flash_a{code="200"} 1\nflash_b 2\n');
    expect(missing('sum by (code) (rate(flash_a[1m])) / max(flash_b)', scraped)).toEqual([]);
    expect(missing('sum by (status) (flash_a{outcome="x"}) + flash_c', scraped)).toEqual(["flash_a{outcome}", "flash_c", "by (status)"]);
  });
});

test("connected replicas are read from INFO replication", () => {
  expect(connectedReplicas("# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=1,port=2\r\n")).toBe(2);
  expect(() => connectedReplicas("role:master\r\n")).toThrow(/connected_slaves/);
});

describe("the series of the dashboard and the alerts, on a running node", () => {
  let stack: Stack;
  let scraped: Map<string, Set<string>>;
  let text: string;

  beforeAll(async () => {
    stack = await startStack();
    const product = await stack.createProduct({ stock: 1, per_user_limit: 1 });
    // a product sold through a line: its series exist from its creation
    await stack.createProduct({ stock: 1, access: "queue", sale_starts_at: new Date(Date.now() + 3_600_000).toISOString() });
    const order = await stack.http("POST", "/api/orders", { product_id: product.id, qty: 1, user_id: "obs-1" });
    expect(order.status).toBe(202);
    expect((await stack.http("POST", "/api/orders", { product_id: product.id, qty: 1, user_id: "obs-2" })).status).toBe(409);
    expect((await stack.http("GET", "/api/products/999999999")).status).toBe(404);
    expect((await stack.http("GET", "/api/admin/audit", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
    const metrics = await stack.http("GET", "/metrics");
    expect(metrics.status).toBe(200);
    text = String(metrics.body);
    scraped = exposition(text);
  }, 60_000);

  afterAll(() => stack?.stop());

  test.each(expressions)("%s reads only exported series", (_where, expr) => {
    expect(missing(expr, scraped)).toEqual([]);
  });

  test("the new series carry what the alerts need: answers by status, the audit verdict, replicas per master", () => {
    expect(text).toMatch(/^flash_http_responses_total\{code="202"\} 1$/m);
    expect(text).toMatch(/^flash_http_responses_total\{code="409"\} 1$/m);
    expect(text).toMatch(/^flash_http_responses_total\{code="404"\} 1$/m);
    expect(text).toMatch(/^flash_audit_ok 1$/m);
    expect(text).toMatch(/^flash_audit_inconsistent_products 0$/m);
    // the test cluster: three masters, no replicas
    const replicas = [...text.matchAll(/^flash_redis_master_replicas\{master="([^"]+)"\} (\d+)$/gm)];
    expect(replicas).toHaveLength(3);
    for (const [, , n] of replicas) expect(n).toBe("0");
  });
});
