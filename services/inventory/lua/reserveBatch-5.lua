--[[
  reserveBatch: the reservations of one product that arrived together, applied in one
  atomic call, in arrival order, each by the same rule as alone
  (includes/reserveMany.lua): one request sees the writes of those before it, exactly as
  if they had been sent one after another. One call instead of N, reading and writing
  each key once, is what makes a hot product cheap per winner on the inventory node.

  KEYS[1] meta  KEYS[2] stock  KEYS[3] res  KEYS[4] exp  KEYS[5] users   (as reserve-6.lua)

  ARGV[1] idempotency key prefix of this product, "{<namespace>:p:<id>}:idem:" (same hash tag, so every
          idempotency record touched lives in this script's slot)
  ARGV[2] now (ms)   ARGV[3] reservation ttl (ms)   ARGV[4] idempotency ttl (s)
  then 5 per request, from ARGV[5]:
          order id, qty (integer >= 1), user id ("" = anonymous),
          request hash ("" = no idempotency key), idempotency key as sent ("" = none)

  Returns one reply per request, in order, each exactly reserve-6.lua's reply
  (codes 0..9 in its header).
]]
local rcall = redis.call
-- @include "reserveMany"

local idemPrefix = ARGV[1]
local reqs = {}
for i = 5, #ARGV, 5 do
  local clientKey = ARGV[i + 4]
  reqs[#reqs + 1] = {ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], clientKey, idemPrefix .. clientKey}
end
return reserveMany(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), reqs)
