--[[
  reserveBatch: the reservations of one product that arrived together (a single request
  is a batch of one), applied in one atomic call, in arrival order, each by the
  reservation rule (includes/reserveMany.lua): one request sees the writes of those
  before it, exactly as if they had been sent one after another; nothing is written for
  a request unless every check passes. One call instead of N, reading and writing each
  key once, is what makes a hot product cheap per winner on the inventory node.

  KEYS[1] meta   hash   price_cents, stock_total, per_user_limit ("" = none),
                        max_per_order, starts_at_ms, ends_at_ms ("" = open),
                        reserved, sold, epoch, name, currency
  KEYS[2] stock  string available units
  KEYS[3] res    hash   order id -> reservation record (JSON, src/contracts/shard-record.ts)
  KEYS[4] exp    zset   order id, scored by expiry (ms)
  KEYS[5] users  hash   user id -> units held (reserved + sold)
  KEYS[6] line, KEYS[7] line tickets, KEYS[8] line entries: the product's line, when its
          access is "queue" or "draw" (lineOpen-1.lua): an order then needs its entry

  ARGV[1] idempotency key prefix of this product, "{<namespace>:p:<id>}:idem:" (same hash tag, so every
          idempotency record touched lives in this script's slot)
  ARGV[2] now (ms)   ARGV[3] reservation ttl (ms)   ARGV[4] idempotency ttl (s)
  then 7 per request, from ARGV[5]:
          order id, qty (integer >= 1), user id ("" = anonymous),
          request hash ("" = no idempotency key), idempotency key as sent ("" = none),
          entry ticket ("" = none: the Entry-Token's ticket, verified by the gateway),
          entry refused ("" = not: why the gateway refused the Entry-Token sent)

  Returns one reply per request, in order, each {code, ...} (the codes are named in
  ../script-codes.ts, ScriptCode.reserve)
    0 RESERVED            {0, order_id, qty, amount_cents, expires_at_ms, created_at_ms, available_after}
    1 REPLAYED            {1, order_id, qty, amount_cents, expires_at_ms, created_at_ms, user_id}
                          (a reservation still held is marked answered: includes/markAnswered.lua)
    2 KEY_REUSED          {2}   same idempotency key, different request
    3 NOT_LOADED          {3}   shard absent: load it from the database (or the product does not exist)
    4 SALE_NOT_ACTIVE     {4, "before" | "after"}
    5 QTY_OVER_MAX        {5, max_per_order} (an entry's order: {5, per_entry, "per_entry"})
    6 USER_REQUIRED       {6}
    7 LIMIT_EXCEEDED      {7, units_held, per_user_limit}
    8 SOLD_OUT            {8, max_per_order, per_user_limit ("" = none), ends_at_ms ("" = open)}
    9 INSUFFICIENT_STOCK  {9, available}
   10 ENTRY_INVALID       {10, reason}   the entry is not good (forged, expired, another buyer's)
   11 ENTRY_REQUIRED      {11}           a line's product, and no entry
   12 ENTRY_USED          {12}           the entry placed another order already
]]
local rcall = redis.call
-- @include "markAnswered"
-- @include "lineTicket"
-- @include "reserveMany"

local idemPrefix = ARGV[1]
local reqs = {}
for i = 5, #ARGV, 7 do
  local clientKey = ARGV[i + 4]
  reqs[#reqs + 1] = {ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], clientKey, idemPrefix .. clientKey, ARGV[i + 5], ARGV[i + 6]}
end
return reserveMany(KEYS, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), reqs)
