/**
 * Buyers behaving as real clients should: each purchase has its own Idempotency-Key
 * and is retried with that same key after a connection error, a timeout or a 503
 * (waiting Retry-After, at most a second), until it gets a final answer. Records
 * every answer, so a test can check what the service promised against what it did.
 */
import { Agent, request } from "node:http";

export interface Purchase {
  key: string;
  user: string;
  /** the final answer: 202, or 409 (sold out and the like); null if it never got one */
  status: number | null;
  orderId: string | null;
  code: string | null;
  attempts: number;
  /** epoch ms: the first attempt sent, the final answer (or failure) received */
  sentAt: number;
  answeredAt: number;
  /** a client that never retries: what its failed attempt got (the body's message, or the connection error) */
  failure: string | null;
}

export interface BurstReport {
  purchases: Purchase[];
  /** answers by status over all attempts ("error" = no answer: connection failed or timed out) */
  answers: Record<string, number>;
  retries: number;
  /** from the first to the last 503 answered, and their number */
  unavailableMs: number;
  unavailable: number;
  /** every 500 answered, with its body (the tests expect none) */
  serverErrors: string[];
}

export interface BurstOptions {
  url: string;
  productId: number;
  buyers: number;
  concurrency: number;
  /** a label in keys and user ids, so bursts do not meet */
  tag: string;
  timeoutMs?: number;
  /** give up on a purchase after this long (then its status stays null) */
  giveUpMs?: number;
  /** called after each final answer, with how many are done */
  onProgress?: (done: number) => void;
  /** false: a client that never retries, whose first answer (or failure) is final */
  retry?: boolean;
}

interface Answer {
  status: number;
  body: string;
  retryAfter: number | null;
}

function post(agent: Agent, url: URL, body: string, key: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), "idempotency-key": key },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), retryAfter: res.headers["retry-after"] ? Number(res.headers["retry-after"]) : null }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

/** The error envelope's code, or null for a body that is not one (HAProxy's own pages are). */
function errorCode(body: string): string | null {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? null;
  } catch {
    return null;
  }
}

export async function burst(opts: BurstOptions): Promise<BurstReport> {
  const url = new URL("/api/orders", opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const timeoutMs = opts.timeoutMs ?? 8000;
  const giveUpMs = opts.giveUpMs ?? 90_000;
  const retry = opts.retry ?? true;
  const report: BurstReport = { purchases: [], answers: {}, retries: 0, unavailableMs: 0, unavailable: 0, serverErrors: [] };
  let first503 = 0;
  let last503 = 0;
  let next = 0;
  let done = 0;

  async function buy(i: number): Promise<Purchase> {
    const p: Purchase = {
      key: `${opts.tag}-${i}`, user: `${opts.tag}-u${i}`, status: null, orderId: null, code: null, attempts: 0,
      sentAt: Date.now(), answeredAt: 0, failure: null,
    };
    const body = JSON.stringify({ product_id: opts.productId, qty: 1, user_id: p.user });
    const started = Date.now();
    while (Date.now() - started < giveUpMs) {
      p.attempts++;
      if (p.attempts > 1) report.retries++;
      let a: Answer;
      try {
        a = await post(agent, url, body, p.key, timeoutMs);
      } catch (err) {
        report.answers.error = (report.answers.error ?? 0) + 1;
        if (!retry) {
          p.code = String(err);
          p.failure = String(err);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      report.answers[a.status] = (report.answers[a.status] ?? 0) + 1;
      if (a.status >= 500 && a.status !== 503) report.serverErrors.push(`${a.status} ${a.body.slice(0, 300)}`);
      if (a.status === 503) {
        const now = Date.now();
        first503 ||= now;
        last503 = now;
        report.unavailable++;
        if (!retry) {
          p.status = 503;
          p.code = errorCode(a.body);
          p.failure = a.body.slice(0, 300);
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, (a.retryAfter ?? 1) * 1000)));
        continue;
      }
      if (a.status >= 500) {
        if (!retry) {
          p.status = a.status;
          p.code = errorCode(a.body);
          p.failure = a.body.slice(0, 300);
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const parsed = JSON.parse(a.body);
      p.status = a.status;
      if (a.status === 202) p.orderId = parsed.order_id;
      else p.code = parsed.error?.code ?? null;
      break;
    }
    p.answeredAt = Date.now();
    opts.onProgress?.(++done);
    return p;
  }

  const workers = Array.from({ length: opts.concurrency }, async () => {
    for (;;) {
      const i = next++;
      if (i >= opts.buyers) return;
      report.purchases[i] = await buy(i);
    }
  });
  await Promise.all(workers);
  agent.destroy();
  report.unavailableMs = first503 ? last503 - first503 : 0;
  return report;
}
