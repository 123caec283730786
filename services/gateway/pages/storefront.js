// The storefront: one product, its live stock (GET /api/products/{id}/events), a buy
// button (POST /api/orders), the order's live status and expiry countdown
// (GET /api/orders/{id}/events) and a cancel button. A product sold through a line
// (`access` queue or draw) shows the line instead of the buy button: join it, the ticket
// live (GET /api/products/{id}/queue/{ticket_id}/events), and at the buyer's turn the buy
// button, whose order carries the entry (Entry-Token). Plain JS, no build step.
// Open /?product=<id> (default 1).

const FINAL = new Set(["paid", "cancelled", "expired", "rejected"]);
const STATUS_WORDS = {
  reserved: "Reserved: your units are held",
  pending: "Confirmed: awaiting payment",
  paid: "Paid: the units are yours",
  cancelled: "Cancelled: the units went back on sale",
  expired: "Expired: not paid in time, the units went back on sale",
  rejected: "Rejected: the order could not be confirmed",
};

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const productId = Number(params.get("product") ?? "1");
const buyer = localStorage.getItem("flash-buyer") ?? `buyer-${crypto.randomUUID().slice(0, 8)}`;
localStorage.setItem("flash-buyer", buyer);
const orderKey = `flash-order-${productId}`;
const ticketKey = `flash-ticket-${productId}`;

let product = null;
let order = null;
let orderStream = null;
let ticket = null;
let ticketStream = null;
let refusal = null; // { code, render(now) }
let clockOffset = 0; // server time minus ours, from the Date header

const now = () => Date.now() + clockOffset;
/** a product sold through a line (API.md, "Fair access"): its order needs the buyer's entry */
const throughLine = (p) => p.access !== "open";
const money = (cents, currency) => new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);

function duration(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const d = Math.floor(s / 86400);
  const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, "0"));
  const text = (d > 0 ? hms : hms[0] === "00" ? hms.slice(1) : hms).join(":");
  return d > 0 ? `${d} d ${text}` : text;
}

function salePhase(p) {
  if (p.sale_starts_at && now() < Date.parse(p.sale_starts_at)) return "upcoming";
  if (p.sale_ends_at && now() >= Date.parse(p.sale_ends_at)) return "ended";
  return p.stock_available > 0 ? "active" : "soldout";
}

/**
 * salePhase, for a product sold through a line: units set aside for entries are not in
 * stock_available and come back when not bought, so none free is not yet sold out (the
 * buyer's ticket says when it is), and the buyer at their turn has one set aside.
 */
function phaseOf(p) {
  const phase = salePhase(p);
  if (phase !== "soldout" || !throughLine(p) || ticket?.status === "sold_out") return phase;
  return ticket?.status === "admitted" ? "active" : "held";
}

async function api(method, path, body, headers = {}) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const date = res.headers.get("date");
  if (date) {
    // Date has 1 s resolution: it tells a skew of seconds, not of milliseconds, so an
    // estimate within a second is no skew at all (else a countdown could show more than the TTL)
    const estimate = Date.parse(date) + 500 - Date.now();
    clockOffset = Math.abs(estimate) > 1000 ? estimate : 0;
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    // an empty or non-JSON answer: the status says enough
  }
  return { status: res.status, data, retryAfter: Number(res.headers.get("retry-after") ?? 0) };
}

// ---- product -------------------------------------------------------------------

function renderProduct() {
  if (!product) return;
  $("name").textContent = product.name;
  $("price").textContent = money(product.price_cents, product.currency);
  $("stock").textContent = String(product.stock_available);
  $("total").textContent = String(product.stock_total);
  $("stock-bar").style.width = `${product.stock_total ? (100 * product.stock_available) / product.stock_total : 0}%`;
  $("limit").textContent = product.per_user_limit === null ? "none" : `${product.per_user_limit} per buyer`;
  const qty = $("qty");
  const most = throughLine(product) ? product.per_entry : product.max_per_order;
  if (qty.options.length !== most) {
    qty.replaceChildren(...Array.from({ length: most }, (_, i) => new Option(String(i + 1), String(i + 1))));
  }
  $("line").hidden = !throughLine(product);
  renderLine();
  renderClock();
}

function followProduct() {
  const es = new EventSource(`/api/products/${productId}/events`);
  es.addEventListener("product", (e) => {
    product = JSON.parse(e.data);
    renderProduct();
  });
  // a stream that hands over (it carried what it may) is back within 100 ms: not "lost"
  let handingOver = false;
  es.addEventListener("handover", () => (handingOver = true));
  es.onopen = () => {
    handingOver = false;
    connection("live", "live");
  };
  es.onerror = () => {
    if (!handingOver) connection("lost", "reconnecting…");
  };
}

function connection(state, text) {
  $("connection").dataset.state = state;
  $("connection").textContent = text;
}

// ---- order ---------------------------------------------------------------------

function showOrder(next) {
  const changed = !order || order.order_id !== next.order_id || order.status !== next.status;
  if (!order || order.order_id !== next.order_id) $("timeline").replaceChildren();
  order = next;
  if (changed) {
    const li = document.createElement("li");
    li.dataset.status = next.status;
    li.innerHTML = `<b></b> at <time></time>`;
    li.querySelector("b").textContent = next.status;
    li.querySelector("time").textContent = new Date().toLocaleTimeString();
    $("timeline").append(li);
  }
  $("order").hidden = false;
  $("status").dataset.status = next.status;
  $("status").textContent = STATUS_WORDS[next.status] ?? next.status;
  $("order-id").textContent = next.order_id;
  $("amount").textContent = `${next.qty} ${next.qty === 1 ? "unit" : "units"} · ${product ? money(next.amount_cents, product.currency) : next.amount_cents}`;
  $("cancel").hidden = FINAL.has(next.status);
  // units given back: "you already hold n" is no longer true
  if (FINAL.has(next.status) && next.status !== "paid" && refusal?.code === "LIMIT_EXCEEDED") hideRefusal();
  if (FINAL.has(next.status)) localStorage.removeItem(orderKey);
  else localStorage.setItem(orderKey, next.order_id);
  renderClock();
}

function followOrder(id) {
  orderStream?.close();
  const es = new EventSource(`/api/orders/${id}/events`);
  orderStream = es;
  es.addEventListener("order", (e) => {
    const next = JSON.parse(e.data);
    showOrder(next);
    // the server ends the stream after a final status: do not reconnect
    if (FINAL.has(next.status)) es.close();
  });
}

async function buy(event) {
  event.preventDefault();
  hideRefusal();
  $("buy").disabled = true;
  try {
    const entry = ticket?.status === "admitted" ? { "Entry-Token": ticket.entry_token } : {};
    const r = await api("POST", "/api/orders", { product_id: productId, qty: Number($("qty").value), user_id: buyer }, {
      "Idempotency-Key": crypto.randomUUID(), ...entry,
    });
    if (r.status === 202) {
      // the entry is used up by this order (its stream says so too)
      if (entry["Entry-Token"]) showTicket({ ...ticket, status: "used", entry_token: null, entry_expires_at: null });
      showOrder({ ...r.data, created_at: null, updated_at: null });
      followOrder(r.data.order_id);
    } else {
      refuse(r);
    }
  } catch {
    refuse({ status: 0, data: null });
  } finally {
    $("buy").disabled = false;
  }
}

async function cancel() {
  if (!order) return;
  $("cancel").disabled = true;
  $("order-note").hidden = true;
  try {
    const r = await api("POST", `/api/orders/${order.order_id}/cancel`);
    if (r.status === 200) showOrder(r.data);
    else {
      $("order-note").textContent = r.data?.error?.code === "ORDER_NOT_CANCELLABLE"
        ? `This order can no longer be cancelled: it is ${r.data.error.details?.status ?? "final"}.`
        : inWords(r, "The cancel did not go through: the order is unchanged. Try again in a moment.");
      $("order-note").hidden = false;
    }
  } catch {
    $("order-note").textContent = inWords({ status: 0, data: null }, "");
    $("order-note").hidden = false;
  } finally {
    $("cancel").disabled = false;
  }
}

// ---- the line (a product sold through it) -------------------------------------------

const TICKET_FINAL = new Set(["used", "expired", "lost", "left"]);
const TICKET_WORDS = {
  waiting: "In line",
  admitted: "Your turn!",
  sold_out: "Sold out",
  used: "Bought with your entry",
  expired: "Your turn has passed",
  lost: "The sale ended before your turn",
  left: "You left the line",
};

/** Sets an element's text only when it changes (a live region announces each change). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

const about = (s) => (s < 60 ? `about ${s} s` : `about ${Math.round(s / 60)} min`);

/** What the buyer's ticket means for them now, beside its status. */
function ticketNote(t) {
  const more = product.per_entry === 1 ? "1 unit" : `up to ${product.per_entry} units`;
  return {
    waiting: () => (t.position === null
      ? `Your place is drawn when the sale starts, in ${duration(Date.parse(product.sale_starts_at) - now())}.`
      : null),
    admitted: () => `Buy ${more} with this entry: it is good for one order.`,
    sold_out: () => `Every unit is taken. You keep your place${t.position === null ? "" : ` (number ${t.position})`}: units that come back go to the line in order.`,
    used: () => "Your order is below.",
    expired: () => "The entry was not used in time: its units went to the next buyer. You may join again, at the back.",
    lost: () => "The sale has ended.",
    left: () => "Your place went to the next buyer. You may join again, at the back.",
  }[t.status]?.() ?? null;
}

/** The line's part of the page: when it opens, the join button, the ticket, the buy button at the buyer's turn. */
function renderLine() {
  if (!product || !throughLine(product)) return;
  const live = ticket !== null && !TICKET_FINAL.has(ticket.status);
  const notOpen = product.queue_opens_at !== null && now() < Date.parse(product.queue_opens_at);
  $("join").hidden = live || ticket?.status === "used" || ticket?.status === "lost";
  $("join").disabled = notOpen;
  $("buy-form").hidden = ticket?.status !== "admitted";
  $("ticket").hidden = ticket === null;
  $("leave").hidden = !live;
  const note = $("line-note");
  note.dataset.phase = notOpen ? "upcoming" : "open";
  note.hidden = live;
  setText(note, notOpen
    ? `The line opens in ${duration(Date.parse(product.queue_opens_at) - now())}.`
    : product.sale_starts_at && now() < Date.parse(product.sale_starts_at)
      ? "Everyone who joins before the sale starts gets a place drawn at random; later joiners queue behind them."
      : "Join the line: your turn to buy comes in order.");
  if (!ticket) return;
  $("ticket-status").dataset.status = ticket.status;
  setText($("ticket-status"), TICKET_WORDS[ticket.status] ?? ticket.status);
  const place = $("place");
  const placed = ticket.status === "waiting" && ticket.position !== null;
  const key = placed ? `${ticket.position}|${ticket.eta_seconds}` : ticketNote(ticket) ?? "";
  if (place.dataset.key !== key) {
    place.dataset.key = key;
    if (placed) {
      const n = document.createElement("strong");
      n.textContent = String(ticket.position);
      place.replaceChildren("You are number ", n, " in line", ticket.eta_seconds === null ? "" : ` · ${about(ticket.eta_seconds)}`);
    } else place.replaceChildren(key);
  }
  setText($("entry-countdown"), ticket.status === "admitted" ? `Buy within ${duration(Date.parse(ticket.entry_expires_at) - now())}` : "");
}

function showTicket(next) {
  ticket = next;
  if (TICKET_FINAL.has(next.status)) {
    localStorage.removeItem(ticketKey);
    ticketStream?.close();
  } else localStorage.setItem(ticketKey, next.ticket_id);
  renderLine();
  renderClock();
}

function followTicket(id) {
  ticketStream?.close();
  const es = new EventSource(`/api/products/${productId}/queue/${id}/events`);
  ticketStream = es;
  es.addEventListener("ticket", (e) => {
    const next = JSON.parse(e.data);
    // a state pushed before the one this page already showed (its own leave or order) is not shown again
    if (ticket?.ticket_id === next.ticket_id && TICKET_FINAL.has(ticket.status)) return es.close();
    showTicket(next);
    // the server ends the stream after a final status: do not reconnect
    if (TICKET_FINAL.has(next.status)) es.close();
  });
}

async function join() {
  hideRefusal();
  $("join").disabled = true;
  try {
    const r = await api("POST", `/api/products/${productId}/queue`, { user_id: buyer });
    if (r.status === 201 || r.status === 200) {
      showTicket(r.data);
      followTicket(r.data.ticket_id);
    } else refuse(r);
  } catch {
    refuse({ status: 0, data: null });
  } finally {
    renderLine();
  }
}

async function leave() {
  if (!ticket) return;
  hideRefusal();
  $("leave").disabled = true;
  try {
    const r = await api("DELETE", `/api/products/${productId}/queue/${ticket.ticket_id}`);
    if (r.status === 200) showTicket(r.data);
    else showRefusal(r.data?.error?.code ?? "ERROR", () => inWords(r, "Leaving did not go through: you are still in line. Try again in a moment."));
  } catch {
    showRefusal("NETWORK", () => inWords({ status: 0, data: null }, ""));
  } finally {
    $("leave").disabled = false;
  }
}

// ---- refusals, in words ----------------------------------------------------------

/** What happened and what the buyer can do, for an answer that is not a success; `otherwise` for the rest. */
function inWords(r, otherwise) {
  if (r.status === 0) return "The connection to the shop failed before it answered: check your connection and try again.";
  const words = {
    UNAUTHORIZED: "You are not signed in (or your sign-in has expired): this shop sells only to signed-in buyers. Sign in on the shop's site, then try again.",
    FORBIDDEN: "This is not allowed for the buyer you are signed in as: sign in again with your own account, then try again.",
    RATE_LIMITED: `Too many tries at once: wait ${r.retryAfter || 1} s and try again.`,
    UNAVAILABLE: "The shop is very busy: try again in a moment.",
  }[r.data?.error?.code];
  return words ?? otherwise;
}

function refuse(r) {
  const e = r.data?.error ?? {};
  const d = e.details ?? {};
  const words = {
    SOLD_OUT: () => "Sold out: every unit is taken. Units come back when a buyer cancels or does not pay, so keep this page open.",
    INSUFFICIENT_STOCK: () => `Only ${d.available} left: choose a smaller quantity.`,
    LIMIT_EXCEEDED: () => `Limit reached: each buyer may hold ${d.per_user_limit} of this product, and you already hold ${d.held}.`,
    SALE_NOT_ACTIVE: () => {
      if (product?.sale_starts_at && now() < Date.parse(product.sale_starts_at)) {
        return `The sale has not started yet. It starts in ${duration(Date.parse(product.sale_starts_at) - now())}.`;
      }
      return "The sale has ended.";
    },
    PRODUCT_NOT_FOUND: () => "This product does not exist.",
    ENTRY_REQUIRED: () => "This product is sold through its line: join the line, and buy when it is your turn.",
    ENTRY_INVALID: () => "Your turn has passed: the entry is no longer good. Join the line again.",
    ENTRY_USED: () => "Your entry was already used for an order: one entry, one order.",
    QUEUE_NOT_OPEN: () => (product?.queue_opens_at && now() < Date.parse(product.queue_opens_at)
      ? `The line is not open yet. It opens in ${duration(Date.parse(product.queue_opens_at) - now())}.`
      : "This product has no line to join."),
    QUEUE_CLOSED: () => "The line is closed: no more buyers may join.",
    TICKET_NOT_FOUND: () => "Your place in line is gone: join the line again.",
    CHALLENGE_FAILED: () => "This line asks each buyer to solve a challenge to join, which this page cannot do yet.",
  }[e.code];
  // without an answer nobody can say whether the order went through
  const other = () => `${r.status === 0 ? "" : "Nothing was reserved. "}${inWords(r, "Something went wrong: try again in a moment.")}`;
  showRefusal(e.code ?? (r.status === 0 ? "NETWORK" : "ERROR"), words ?? other);
}

function showRefusal(code, text) {
  refusal = { code, text };
  $("refusal").dataset.code = code;
  $("refusal").hidden = false;
  renderClock();
}

function hideRefusal() {
  refusal = null;
  $("refusal").hidden = true;
}

// ---- the clock: sale countdown, expiry countdown, refusals that count down -------

function renderClock() {
  if (product) {
    const phase = phaseOf(product);
    const sale = $("sale");
    sale.dataset.phase = phase;
    sale.textContent = {
      upcoming: () => `The sale starts in ${duration(Date.parse(product.sale_starts_at) - now())}`,
      active: () => (product.sale_ends_at ? `On sale: ends in ${duration(Date.parse(product.sale_ends_at) - now())}` : "On sale now"),
      soldout: () => "Sold out",
      held: () => "No unit is free now; any not bought go back to the line, in order",
      ended: () => "The sale has ended",
    }[phase]();
  }
  renderLine();
  if (order) {
    $("countdown").textContent = FINAL.has(order.status) ? "" : `Pay within ${duration(Date.parse(order.expires_at) - now())}`;
  }
  if (refusal) {
    $("refusal").textContent = refusal.text();
    if (refusal.code === "SALE_NOT_ACTIVE" && product && salePhase(product) !== "upcoming" && salePhase(product) !== "ended") hideRefusal();
  }
}

// ---- start -----------------------------------------------------------------------

/** No product to show: it does not exist (404, or not a product number: 422), or the shop did not answer. */
function missing(status) {
  const unknown = status === 404 || status === 422;
  $("offer").hidden = true;
  $("missing").hidden = false;
  if (unknown) {
    $("name").textContent = "This product does not exist";
    $("missing").textContent = `There is no product "${params.get("product") ?? productId}" in this shop: check the link you followed.`;
    $("connection").hidden = true;
  } else {
    $("name").textContent = "The shop is not reachable";
    $("missing").textContent = "The shop did not answer: reload this page in a moment.";
    connection("lost", "offline");
  }
}

async function start() {
  $("buyer").textContent = buyer;
  $("buy-form").addEventListener("submit", buy);
  $("cancel").addEventListener("click", cancel);
  $("join").addEventListener("click", join);
  $("leave").addEventListener("click", leave);
  const r = await api("GET", `/api/products/${productId}`).catch(() => ({ status: 0, data: null }));
  if (r.status !== 200) return missing(r.status);
  product = r.data;
  renderProduct();
  followProduct();
  const saved = localStorage.getItem(orderKey);
  if (saved) {
    const o = await api("GET", `/api/orders/${saved}`);
    if (o.status === 200 && !FINAL.has(o.data.status)) {
      showOrder(o.data);
      followOrder(saved);
    } else localStorage.removeItem(orderKey);
  }
  const savedTicket = localStorage.getItem(ticketKey);
  if (savedTicket && throughLine(product)) {
    const t = await api("GET", `/api/products/${productId}/queue/${savedTicket}`).catch(() => ({ status: 0, data: null }));
    if (t.status === 200 && !TICKET_FINAL.has(t.data.status)) {
      showTicket(t.data);
      followTicket(savedTicket);
    } else if (t.status !== 0) localStorage.removeItem(ticketKey);
  }
  setInterval(renderClock, 250);
}

start();
