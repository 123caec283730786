--[[
  reserve: hold `qty` units of one product for one order, in one atomic step.

  Checks, in this order: the shard is loaded; this order id or idempotency key was
  already answered (replay); the request fits the product (max_per_order, user
  required by a per-user limit); the sale window; the per-user limit; the stock.
  Nothing is written unless every check passes.

  KEYS[1] meta   hash   price_cents, stock_total, per_user_limit ("" = none),
                        max_per_order, starts_at_ms, ends_at_ms ("" = open),
                        reserved, sold, epoch, name, currency
  KEYS[2] stock  string available units
  KEYS[3] res    hash   order id -> reservation record (JSON)
  KEYS[4] exp    zset   order id, scored by expiry (ms)
  KEYS[5] users  hash   user id -> units held (reserved + sold)
  KEYS[6] idem   string idempotency record (JSON); untouched when ARGV[6] == ""

  ARGV[1] order id        ARGV[2] qty (integer >= 1)   ARGV[3] user id ("" = anonymous)
  ARGV[4] now (ms)        ARGV[5] reservation ttl (ms)
  ARGV[6] request hash ("" = no idempotency key)        ARGV[7] idempotency ttl (s)
  ARGV[8] idempotency key as sent by the client ("" = none)

  Returns {code, ...}
    0 RESERVED            {0, order_id, qty, amount_cents, expires_at_ms, created_at_ms, available_after}
    1 REPLAYED            {1, order_id, qty, amount_cents, expires_at_ms, created_at_ms, user_id}
    2 KEY_REUSED          {2}   same idempotency key, different request
    3 NOT_LOADED          {3}   shard absent: load it from the database (or the product does not exist)
    4 SALE_NOT_ACTIVE     {4, "before" | "after"}
    5 QTY_OVER_MAX        {5, max_per_order}
    6 USER_REQUIRED       {6}
    7 LIMIT_EXCEEDED      {7, units_held, per_user_limit}
    8 SOLD_OUT            {8}
    9 INSUFFICIENT_STOCK  {9, available}
]]
local rcall = redis.call
local metaKey, stockKey, resKey, expKey, usersKey, idemKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local orderId, qty, userId = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local requestHash, idemTtl, clientKey = ARGV[6], tonumber(ARGV[7]), ARGV[8]

local meta = rcall("HMGET", metaKey, "epoch", "price_cents", "per_user_limit", "max_per_order", "starts_at_ms", "ends_at_ms")
local available = rcall("GET", stockKey)
if not meta[1] or not available then return {3} end
available = tonumber(available)

local function replayed(rec)
  return {1, rec.o, rec.q, rec.a, rec.e, rec.c, rec.u}
end

if requestHash ~= "" then
  local raw = rcall("GET", idemKey)
  if raw then
    local rec = cjson.decode(raw)
    if rec.h ~= requestHash then return {2} end
    return replayed(rec)
  end
end
local existing = rcall("HGET", resKey, orderId)
if existing then return replayed(cjson.decode(existing)) end

local maxPerOrder = tonumber(meta[4])
if qty > maxPerOrder then return {5, maxPerOrder} end
local limit = tonumber(meta[3])
if limit and userId == "" then return {6} end

local startsAt, endsAt = tonumber(meta[5]), tonumber(meta[6])
if startsAt and now < startsAt then return {4, "before"} end
if endsAt and now >= endsAt then return {4, "after"} end

if limit then
  local held = tonumber(rcall("HGET", usersKey, userId) or "0")
  if held + qty > limit then return {7, held, limit} end
end

if available <= 0 then return {8} end
if available < qty then return {9, available} end

local amount = tonumber(meta[2]) * qty
local expiresAt = now + ttl
local rec = cjson.encode({o = orderId, q = qty, u = userId, a = amount, e = expiresAt, c = now, k = clientKey, h = requestHash})
rcall("DECRBY", stockKey, qty)
rcall("HINCRBY", metaKey, "reserved", qty)
rcall("HSET", resKey, orderId, rec)
rcall("ZADD", expKey, expiresAt, orderId)
if userId ~= "" then rcall("HINCRBY", usersKey, userId, qty) end
if requestHash ~= "" then rcall("SET", idemKey, rec, "EX", idemTtl) end
return {0, orderId, qty, amount, expiresAt, now, available - qty}
