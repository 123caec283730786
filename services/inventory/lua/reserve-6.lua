--[[
  reserve: hold `qty` units of one product for one order, in one atomic step
  (the rule itself: includes/reserveMany.lua, as a batch of one).

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

  Returns {code, ...} (the codes are named in ../script-codes.ts, ScriptCode.reserve)
    0 RESERVED            {0, order_id, qty, amount_cents, expires_at_ms, created_at_ms, available_after}
    1 REPLAYED            {1, order_id, qty, amount_cents, expires_at_ms, created_at_ms, user_id}
    2 KEY_REUSED          {2}   same idempotency key, different request
    3 NOT_LOADED          {3}   shard absent: load it from the database (or the product does not exist)
    4 SALE_NOT_ACTIVE     {4, "before" | "after"}
    5 QTY_OVER_MAX        {5, max_per_order}
    6 USER_REQUIRED       {6}
    7 LIMIT_EXCEEDED      {7, units_held, per_user_limit}
    8 SOLD_OUT            {8, max_per_order, per_user_limit ("" = none), ends_at_ms ("" = open)}
    9 INSUFFICIENT_STOCK  {9, available}
]]
local rcall = redis.call
-- @include "reserveMany"

return reserveMany(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]),
  {{ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[6], ARGV[8], KEYS[6]}})[1]
