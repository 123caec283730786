/**
 * Talking to a running target over HTTP: readiness, the admin API (products,
 * audit), product reads. Every call has a timeout.
 */
import { sleep } from "./procs.ts";
import { mapLimit } from "../../src/lib/concurrency.ts";
import type { AuditReport } from "../../src/contracts/reports.ts";

export interface NewProduct {
  name: string;
  price_cents: number;
  stock: number;
  per_user_limit?: number | null;
  max_per_order?: number;
}

export async function getJson(url: string, timeoutMs = 5000, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: r.status, body };
}

export class Admin {
  readonly base: string;
  readonly #auth: Record<string, string>;

  constructor(base: string, token: string) {
    this.base = base;
    this.#auth = { authorization: `Bearer ${token}` };
  }

  async createProduct(p: NewProduct): Promise<number> {
    const r = await fetch(`${this.base}/api/admin/products`, {
      method: "POST",
      headers: { ...this.#auth, "content-type": "application/json" },
      body: JSON.stringify(p),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    if (r.status !== 201) throw new Error(`POST /api/admin/products answered ${r.status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { id: number }).id;
  }

  /** Creates `count` products, `parallel` at a time; returns their ids in order. */
  async createProducts(count: number, make: (i: number) => NewProduct, parallel = 16): Promise<number[]> {
    return mapLimit(Array.from({ length: count }, (_, i) => i), parallel, (i) => this.createProduct(make(i)));
  }

  async audit(timeoutMs = 120_000): Promise<AuditReport> {
    const r = await getJson(`${this.base}/api/admin/audit`, timeoutMs, this.#auth);
    if (r.status !== 200) throw new Error(`GET /api/admin/audit answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body as AuditReport;
  }

  /** Polls the audit until the pipeline has drained (or the time is up); returns the last audit and when it drained. */
  async auditWhenDrained(timeoutMs: number, everyMs = 500): Promise<{ audit: AuditReport; drained_after_ms: number | null; audit_ms: number }> {
    const t0 = performance.now();
    for (;;) {
      const a0 = performance.now();
      const audit = await this.audit();
      const auditMs = performance.now() - a0;
      if (audit.pipeline.drained) return { audit, drained_after_ms: performance.now() - t0, audit_ms: auditMs };
      if (performance.now() - t0 > timeoutMs) return { audit, drained_after_ms: null, audit_ms: auditMs };
      await sleep(everyMs);
    }
  }

  async stockAvailable(id: number): Promise<number | null> {
    const r = await getJson(`${this.base}/api/products/${id}`, 10_000);
    return r.status === 200 ? (r.body as { stock_available: number }).stock_available : null;
  }
}
