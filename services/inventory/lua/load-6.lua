--[[
  load: (re)build one product's shard from a snapshot computed from the database
  plus the reservations still in flight. Atomic: readers see the old shard or the
  whole new one. Without ARGV[2] == "force" it only fills an absent shard, so two
  nodes loading at once cannot overwrite each other's newer state.

  KEYS[1] meta  KEYS[2] stock  KEYS[3] res  KEYS[4] exp  KEYS[5] users
  KEYS[6] line  the product's line, if it has one (lineOpen-1.lua): the units it set aside
                for entries are not available (they are the entries')

  ARGV[1] snapshot JSON:
          { epoch, meta = { name, currency, price_cents, stock_total, per_user_limit,
                            max_per_order, starts_at_ms, ends_at_ms, and the line's:
                            access ("open" if absent), opens_at_ms, entry_ttl_s,
                            admit_per_second, challenge ("1"/"0") },
            sold, users = { [user_id] = units },
            reservations = [ { o, q, u, a, e, c, k, h } ] }
  ARGV[2] "force" to replace a present shard, "" to fill only an absent one

  Returns {1, available} loaded, or {0} a shard was already there (nothing written)
  (ScriptCode.load, ../script-codes.ts).
]]
local rcall = redis.call
local metaKey, stockKey, resKey, expKey, usersKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local snap, force = cjson.decode(ARGV[1]), ARGV[2] == "force"

if not force and rcall("HEXISTS", metaKey, "epoch") == 1 and rcall("EXISTS", stockKey) == 1 then
  return {0}
end

rcall("DEL", metaKey, stockKey, resKey, expKey, usersKey)

local reserved = 0
for _, rec in ipairs(snap.reservations) do
  reserved = reserved + rec.q
  rcall("HSET", resKey, rec.o, cjson.encode(rec))
  rcall("ZADD", expKey, rec.e, rec.o)
end
for user, units in pairs(snap.users) do
  if units > 0 then rcall("HSET", usersKey, user, units) end
end

local m = snap.meta
local aside = tonumber(rcall("HGET", KEYS[6], "aside") or "0")
local available = m.stock_total - snap.sold - reserved - aside
rcall("HSET", metaKey,
  "epoch", snap.epoch, "name", m.name, "currency", m.currency,
  "price_cents", m.price_cents, "stock_total", m.stock_total,
  "per_user_limit", m.per_user_limit, "max_per_order", m.max_per_order,
  "starts_at_ms", m.starts_at_ms, "ends_at_ms", m.ends_at_ms, "access", m.access or "open",
  "opens_at_ms", m.opens_at_ms or "", "entry_ttl_s", m.entry_ttl_s or 120, "admit_per_second", m.admit_per_second or "",
  "challenge", m.challenge or "0", "reserved", reserved, "sold", snap.sold)
rcall("SET", stockKey, available)
return {1, available}
