-- wrk script of the benchmark (bench/lib/wrk.ts): POST /api/orders, one distinct buyer per
-- request (user_id and Idempotency-Key carry the request's number), exactly AMOUNT orders
-- per thread. wrk cannot stop sending, so after the last order each connection sends
-- GET /api/orders (a fill-in: the stack answers it 404 from its router, the bare server 200;
-- no order of this load is answered either) until the harness, told by the line WRK_DONE
-- that every order was answered, stops wrk: no order is ever in flight unseen.
-- Counts answers by status; done() prints one JSON line (the harness drops the fill-ins).
--
-- Environment: WRK_TAG (buyer prefix), WRK_PRODUCTS (comma-separated ids, picked in
-- turn), WRK_QTY, WRK_AMOUNT (answers per thread), WRK_KEYS ("1": send Idempotency-Key).
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  tag = (os.getenv("WRK_TAG") or "w") .. "t" .. id
  products = {}
  for p in string.gmatch(os.getenv("WRK_PRODUCTS") or "1", "[^,]+") do products[#products + 1] = p end
  qty = os.getenv("WRK_QTY") or "1"
  amount = tonumber(os.getenv("WRK_AMOUNT") or "1000000")
  keys = os.getenv("WRK_KEYS") == "1"
  -- wrk calls request() once on the first thread to check the request, and never sends that one
  sent, answered = (id == 1) and -1 or 0, 0
  statuses = {}
end

local FILL_IN = { [200] = true, [404] = true }
local filler

function request()
  if sent >= amount then
    -- built here, in the thread, once wrk's default headers (Host) are set
    filler = filler or wrk.format("GET", "/api/orders")
    return filler
  end
  sent = sent + 1
  local pid = products[(sent % #products) + 1]
  local headers = { ["Content-Type"] = "application/json" }
  if keys then headers["Idempotency-Key"] = tag .. "-k" .. sent end
  local body = '{"product_id":' .. pid .. ',"qty":' .. qty .. ',"user_id":"' .. tag .. "-u" .. sent .. '"}'
  return wrk.format("POST", "/api/orders", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if FILL_IN[status] then return end
  answered = answered + 1
  -- wrk itself stops only at -d: the harness sends SIGINT on this line (wrk then reports)
  if answered == amount then
    io.write("WRK_DONE\n")
    io.flush()
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do merged[tostring(code)] = (merged[tostring(code)] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(merged) do parts[#parts + 1] = '"' .. code .. '":' .. n end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"status":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%f}}\n',
    summary.requests, summary.duration, table.concat(parts, ","), e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
