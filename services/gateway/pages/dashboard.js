// The operator's dashboard: trades the admin token for a session cookie, then renders
// every snapshot of GET /api/admin/dashboard/events. The token stays in this tab
// (sessionStorage), never in a URL; the stream is authenticated by the HttpOnly cookie.
"use strict";

const TOKEN_KEY = "flash-dashboard-token";
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let source = null;

function setStatus(state, text) {
  const el = $("status");
  el.dataset.state = state;
  el.textContent = text;
}

async function exchange(token) {
  const res = await fetch("/api/admin/dashboard/session", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
    credentials: "same-origin",
  });
  if (res.status === 401) throw Object.assign(new Error("the admin token was refused"), { refused: true });
  if (!res.ok) throw new Error(`the session could not be opened (${res.status})`);
  return res.json();
}

async function connect() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return signOut();
  try {
    await exchange(token);
  } catch (err) {
    if (err.refused) return signOut(err.message);
    setStatus("reconnecting", "reconnecting…");
    setTimeout(connect, 2000);
    return;
  }
  $("login").hidden = true;
  $("login-error").textContent = "";
  $("board").hidden = false;
  source?.close();
  source = new EventSource("/api/admin/dashboard/events");
  // a stream that hands over (it carried what it may) is back within 100 ms: not "reconnecting"
  let handingOver = false;
  source.addEventListener("handover", () => (handingOver = true));
  source.addEventListener("open", () => {
    handingOver = false;
    setStatus("live", "live");
  });
  source.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
  // the session ended (expired, or the server refused the cookie): trade the token again
  source.addEventListener("expired", () => { source.close(); connect(); });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setStatus("reconnecting", "reconnecting…");
      setTimeout(connect, 1000);
    } else if (!handingOver) {
      setStatus("reconnecting", "reconnecting…");
    }
  });
}

function signOut(message = "") {
  source?.close();
  source = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("board").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  setStatus("signed-out", "signed out");
}

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  return td;
}

function fillTable(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 }));

/** An SVG sparkline of one or more series sharing one scale. */
function sparkline(series, svg = document.createElementNS(SVG, "svg")) {
  svg.setAttribute("viewBox", "0 0 120 28");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.classList.add("spark");
  const all = series.flatMap((s) => s.values);
  const max = Math.max(1, ...all);
  svg.replaceChildren(...series.map((s) => {
    const line = document.createElementNS(SVG, "polyline");
    const step = s.values.length > 1 ? 120 / (s.values.length - 1) : 0;
    line.setAttribute("points", s.values.map((v, i) => `${(i * step).toFixed(1)},${(27 - (v / max) * 26).toFixed(1)}`).join(" "));
    line.setAttribute("class", s.cls);
    return line;
  }));
  return svg;
}

function render(s) {
  $("rps").textContent = fmt(s.requests.total_per_second);
  sparkline([{ values: s.requests.history, cls: "rate" }], $("rps-spark"));
  $("p50").textContent = fmt(s.latency_ms.p50);
  $("p99").textContent = fmt(s.latency_ms.p99);
  $("latency-window").textContent = `over the last ${fmt(s.latency_ms.window_seconds)} s`;
  $("lag").textContent = fmt(s.pipeline?.stream_lag);
  $("dlq").textContent = fmt(s.pipeline?.dead_letters);
  $("dlq").className = "big " + (s.pipeline?.dead_letters ? "bad" : "");

  const audit = $("audit");
  if (!s.audit) {
    audit.textContent = "pending";
    audit.className = "big";
    $("audit-detail").textContent = "first audit running";
  } else {
    audit.textContent = s.audit.ok ? "ok" : "NOT OK";
    audit.className = "big " + (s.audit.ok ? "ok" : "bad");
    const f = s.audit.failures[0];
    $("audit-detail").textContent = s.audit.ok
      ? `checked ${new Date(s.audit.checked_at).toLocaleTimeString()}`
      : `${s.audit.inconsistent_products} product(s)${f ? `: ${f.invariant} on ${f.product_id} by ${f.by}` : ""}${s.audit.dead_letters ? `, ${s.audit.dead_letters} dead letter(s)` : ""}`;
  }

  const answers = Object.keys({ ...s.requests.totals, ...s.requests.per_second }).sort();
  fillTable("answers", answers.map((k) => [
    cell(k, k.startsWith("202") ? "ok" : k.startsWith("5") ? "bad" : k.startsWith("4") ? "warn" : ""),
    cell(fmt(s.requests.per_second[k] ?? 0), "n"),
    cell(fmt(s.requests.totals[k] ?? 0), "n"),
  ]));

  const statuses = s.pipeline ? Object.entries(s.pipeline.orders_by_status) : [];
  fillTable("orders", statuses.map(([status, n]) => [cell(status), cell(fmt(n), "n")]));

  fillTable("nodes", s.nodes.map((n) => {
    const tags = document.createElement("span");
    tags.append(...n.services.map((name) => Object.assign(document.createElement("span"), { className: "tag", textContent: name })));
    return [
      cell(n.id + (n.local ? " (this)" : "")),
      cell(tags),
      n.draining ? cell("draining", "warn")
        : n.available ? cell("available", "ok")
        : cell(`unavailable (listed until ${new Date(n.listed_until).toLocaleTimeString()})`, "bad"),
      cell(n.per_second === null ? "" : fmt(n.per_second), "n"),
    ];
  }));

  fillTable("products", s.products.map((p) => [
    cell(String(p.id)),
    cell(p.name ?? ""),
    cell(fmt(p.available), "n"),
    cell(fmt(p.reserved), "n"),
    cell(fmt(p.sold), "n"),
    cell(fmt(p.stock_total), "n"),
    cell(sparkline([
      { values: p.history.available, cls: "available" },
      { values: p.history.reserved, cls: "reserved" },
      { values: p.history.sold, cls: "sold" },
    ])),
  ]));

  const lines = s.products.filter((p) => p.line);
  $("lines-card").hidden = lines.length === 0;
  fillTable("lines", lines.map(({ id, name, line: l }) => [
    cell(String(id)),
    cell(name ?? ""),
    cell(l.access),
    cell(fmt(l.joined), "n"),
    cell(fmt(l.waiting), "n"),
    cell(fmt(l.open_entries), "n"),
    cell(fmt(l.admitted_per_second), "n"),
    cell(fmt(l.used), "n"),
    cell(fmt(l.expired), l.expired > 0 ? "n warn" : "n"),
    cell(fmt(l.left), "n"),
    cell(l.admit_per_second === null ? "units" : fmt(l.admit_per_second), "n"),
    l.paused ? cell("paused", "warn") : cell("admitting", "ok"),
  ]));
  $("updated").textContent = new Date(s.at).toLocaleTimeString();
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value);
  $("token").value = "";
  connect();
});
$("logout").addEventListener("click", async () => {
  // the cookie is HttpOnly: only the server can make the browser drop it
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) await fetch("/api/admin/dashboard/session", { method: "DELETE", headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
  signOut();
});
if (sessionStorage.getItem(TOKEN_KEY)) connect();
