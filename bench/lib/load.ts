/**
 * The load generator: autocannon driven programmatically, one fresh request per
 * call of `next(i)` (distinct buyer and Idempotency-Key per request), bounded both
 * in count (`amount`) and in time (`maxSeconds`, then the instance is stopped).
 * Every response is recorded (completion time, latency, status) so that the
 * statistics, and the split of a drop into its phases, are computed here from the
 * raw samples rather than from autocannon's per-second histograms.
 */
import autocannon from "autocannon";
import { performance } from "node:perf_hooks";

export interface RequestShape {
  body: string;
  headers: Record<string, string>;
}

export interface LoadSpec {
  label: string;
  url: string; // base, e.g. http://127.0.0.1:18310
  path: string;
  amount: number;
  connections: number;
  maxSeconds: number;
  next: (i: number) => RequestShape;
  progress?: (line: string) => void;
  progressEveryMs?: number;
}

export interface Samples {
  n: number;
  t: Float64Array; // completion time, ms since the start
  lat: Float64Array; // ms
  status: Uint16Array;
}

export interface LoadRun {
  samples: Samples;
  duration_ms: number;
  errors: number;
  timeouts: number;
  stopped_by_time: boolean;
  requested: number;
}

export interface Stats {
  requests: number;
  duration_s: number;
  rps: number;
  latency_ms: { p50: number; p95: number; p99: number; max: number; mean: number };
  status: Record<string, number>;
}

export async function runLoad(spec: LoadSpec): Promise<LoadRun> {
  const cap = spec.amount + spec.connections * 2 + 16;
  const samples: Samples = { n: 0, t: new Float64Array(cap), lat: new Float64Array(cap), status: new Uint16Array(cap) };
  let i = 0;
  let errors = 0;
  let stoppedByTime = false;
  const counts = new Map<number, number>();

  let finish!: (r: autocannon.Result) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<autocannon.Result>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    amount: spec.amount,
    timeout: 10,
    pipelining: 1,
    requests: [
      {
        method: "POST",
        path: spec.path,
        setupRequest: (req) => {
          const r = spec.next(i++);
          return { ...req, method: "POST", path: spec.path, body: r.body, headers: { "content-type": "application/json", ...r.headers } };
        },
      },
    ],
  }, (err, result) => (err ? fail(err as Error) : finish(result)));

  const t0 = performance.now();
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    const k = samples.n;
    if (k < cap) {
      samples.t[k] = performance.now() - t0;
      samples.lat[k] = responseTime;
      samples.status[k] = statusCode;
      samples.n++;
    }
    counts.set(statusCode, (counts.get(statusCode) ?? 0) + 1);
  });
  instance.on("reqError", () => errors++);

  const stopTimer = setTimeout(() => {
    stoppedByTime = true;
    instance.stop();
  }, spec.maxSeconds * 1000);

  let lastN = 0;
  let lastT = t0;
  const progressTimer = spec.progress
    ? setInterval(() => {
        const now = performance.now();
        const rate = ((samples.n - lastN) * 1000) / (now - lastT);
        lastN = samples.n;
        lastT = now;
        const st = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([s, c]) => `${s}:${c}`).join(" ");
        spec.progress!(
          `${spec.label}: ${samples.n}/${spec.amount} responses, ${Math.round(rate)} req/s now, ${((now - t0) / 1000).toFixed(0)} s [${st}]${errors ? ` errors:${errors}` : ""}`,
        );
      }, spec.progressEveryMs ?? 5000)
    : undefined;

  const result = await done;
  // autocannon reports "done" on its next 1 s sampling tick: the load ends with its last response
  let duration = 0;
  for (let k = 0; k < samples.n; k++) if (samples.t[k] > duration) duration = samples.t[k];
  if (samples.n === 0) duration = performance.now() - t0;
  clearTimeout(stopTimer);
  if (progressTimer) clearInterval(progressTimer);

  return {
    samples,
    duration_ms: duration,
    errors: Math.max(errors, result.errors ?? 0),
    timeouts: result.timeouts ?? 0,
    stopped_by_time: stoppedByTime,
    requested: spec.amount,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Statistics of the samples whose completion time lies in (from, to] ms; duration = to - from. */
export function stats(s: Samples, from = -Infinity, to = Infinity, durationMs?: number): Stats {
  const lat: number[] = [];
  const status: Record<string, number> = {};
  let first = Infinity;
  let last = 0;
  for (let k = 0; k < s.n; k++) {
    const t = s.t[k];
    if (t <= from || t > to) continue;
    lat.push(s.lat[k]);
    status[s.status[k]] = (status[s.status[k]] ?? 0) + 1;
    if (t < first) first = t;
    if (t > last) last = t;
  }
  const sorted = Float64Array.from(lat).sort();
  const dur = durationMs ?? (Number.isFinite(from) ? last - from : last);
  const mean = lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : NaN;
  return {
    requests: lat.length,
    duration_s: r2(dur / 1000),
    rps: dur > 0 ? Math.round((lat.length * 1000) / dur) : 0,
    latency_ms: {
      p50: r2(percentile(sorted, 50)),
      p95: r2(percentile(sorted, 95)),
      p99: r2(percentile(sorted, 99)),
      max: r2(sorted.length ? sorted[sorted.length - 1] : NaN),
      mean: r2(mean),
    },
    status,
  };
}

export interface DropPhases {
  /** completion time of the last 202, seconds since the start of the load */
  sold_out_at_s: number;
  winners: Stats;
  sold_out: Stats | null;
}

/**
 * Splits a drop by time: the winners' phase runs from the start of the load to the
 * completion of the last 202; the sold-out phase is everything that completed after.
 */
export function dropPhases(s: Samples, durationMs: number, successStatus = 202): DropPhases | null {
  let tSold = -1;
  for (let k = 0; k < s.n; k++) if (s.status[k] === successStatus && s.t[k] > tSold) tSold = s.t[k];
  if (tSold < 0) return null;
  const winners = stats(s, -Infinity, tSold, tSold);
  const rest = s.n - winners.requests;
  const soldOut = rest > 0 ? stats(s, tSold, Infinity, Math.max(1, durationMs - tSold)) : null;
  return { sold_out_at_s: r2(tSold / 1000), winners, sold_out: soldOut };
}
