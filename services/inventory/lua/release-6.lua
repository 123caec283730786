--[[
  release: give the units of one unpaid reservation back to stock. Idempotent:
  releasing an order that holds nothing (already released, committed, or never
  reserved here) changes nothing and returns 0.

  KEYS[1] meta  KEYS[2] stock  KEYS[3] res  KEYS[4] exp  KEYS[5] users
  KEYS[6] idem  the reservation's idempotency record; deleted only when ARGV[2] == "1"

  ARGV[1] order id
  ARGV[2] "0": an order's reservation (expired, cancelled, payment failed, refused by the
               database gate): released, its idempotency record kept (the key stays the order's)
          "1": a reservation its own call did not answer 202 (too few replicas, the stream
               certainly without it, its key claimed by another product): released and its
               key forgotten, so a retry starts afresh; unless a replay has answered it
               since (marked by includes/markAnswered.lua): then it is an order's, and kept

  Returns (ScriptCode.release, ../script-codes.ts)
    0 NOTHING_HELD  {0}                nothing held for this order
    1 RELEASED      {1, qty, user_id}
    2 ANSWERED      {2}                kept, not released: a replay answered it (ARGV[2] == "1" only)
]]
local rcall = redis.call
local metaKey, stockKey, resKey, expKey, usersKey, idemKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local orderId, forgetKey = ARGV[1], ARGV[2] == "1"

local raw = rcall("HGET", resKey, orderId)
if not raw then return {0} end
local rec = cjson.decode(raw)
if forgetKey and rec.r == 1 then return {2} end

rcall("HDEL", resKey, orderId)
rcall("ZREM", expKey, orderId)
rcall("INCRBY", stockKey, rec.q)
rcall("HINCRBY", metaKey, "reserved", -rec.q)
if rec.u ~= "" then
  if rcall("HINCRBY", usersKey, rec.u, -rec.q) <= 0 then rcall("HDEL", usersKey, rec.u) end
end
if forgetKey and rec.h ~= "" then
  local stored = rcall("GET", idemKey)
  if stored and cjson.decode(stored).o == orderId then rcall("DEL", idemKey) end
end
return {1, rec.q, rec.u}
