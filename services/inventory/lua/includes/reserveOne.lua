--[[
  reserveOne(keys..., args...): the reservation rule for one request, shared by
  reserve-6.lua (one request) and reserveBatch-5.lua (a micro-batch of one product),
  so a request in a batch keeps exactly the rules it has alone. Expects `rcall`
  (redis.call) to be a local of the including script.

  Checks, in this order: the shard is loaded; this order id or idempotency key was
  already answered (replay); the request fits the product (max_per_order, user
  required by a per-user limit); the sale window; the per-user limit; the stock.
  Nothing is written unless every check passes. Reply codes: reserve-6.lua's header.
]]
local function reserveOne(metaKey, stockKey, resKey, expKey, usersKey, idemKey,
                          orderId, qty, userId, now, ttl, requestHash, idemTtl, clientKey)
  local meta = rcall("HMGET", metaKey, "epoch", "price_cents", "per_user_limit", "max_per_order", "starts_at_ms", "ends_at_ms")
  local available = rcall("GET", stockKey)
  if not meta[1] or not available then return {3} end
  available = tonumber(available)

  if requestHash ~= "" then
    local raw = rcall("GET", idemKey)
    if raw then
      local rec = cjson.decode(raw)
      if rec.h ~= requestHash then return {2} end
      return {1, rec.o, rec.q, rec.a, rec.e, rec.c, rec.u}
    end
  end
  local existing = rcall("HGET", resKey, orderId)
  if existing then
    local rec = cjson.decode(existing)
    return {1, rec.o, rec.q, rec.a, rec.e, rec.c, rec.u}
  end

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

  -- the rules a gateway needs to answer SOLD_OUT itself without changing an answer
  if available <= 0 then return {8, maxPerOrder, meta[3] or "", meta[6] or ""} end
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
end
