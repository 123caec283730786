--[[
  commit: the order was paid; its reserved units become sold for good. Idempotent:
  committing an order that holds nothing here returns 0 and changes nothing.
  The user's holding is kept (sold units still count against per_user_limit).

  KEYS[1] meta  KEYS[2] res  KEYS[3] exp
  ARGV[1] order id

  Returns {1, qty} committed, or {0} nothing held for this order (ScriptCode.commit, ../script-codes.ts).
]]
local rcall = redis.call
local metaKey, resKey, expKey = KEYS[1], KEYS[2], KEYS[3]
local orderId = ARGV[1]

local raw = rcall("HGET", resKey, orderId)
if not raw then return {0} end
local qty = cjson.decode(raw).q

rcall("HDEL", resKey, orderId)
rcall("ZREM", expKey, orderId)
rcall("HINCRBY", metaKey, "reserved", -qty)
rcall("HINCRBY", metaKey, "sold", qty)
return {1, qty}
