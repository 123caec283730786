--[[
  restock: add units to a loaded shard, once. The database raised stock_total first;
  ARGV[2] is its new value, which makes a retried call a no-op.

  KEYS[1] meta  KEYS[2] stock
  ARGV[1] units added   ARGV[2] stock_total after the restock (from the database)

  Returns {0, available} applied, {1, available} already applied,
          {2, stock_total} the shard disagrees with the database (rebuild it),
          {3} shard not loaded (ScriptCode.restock, ../script-codes.ts).
]]
local rcall = redis.call
local metaKey, stockKey = KEYS[1], KEYS[2]
local add, newTotal = tonumber(ARGV[1]), tonumber(ARGV[2])

local total = tonumber(rcall("HGET", metaKey, "stock_total"))
local available = rcall("GET", stockKey)
if not total or not available then return {3} end
if total == newTotal then return {1, tonumber(available)} end
if total + add ~= newTotal then return {2, total} end

rcall("HSET", metaKey, "stock_total", newTotal)
return {0, rcall("INCRBY", stockKey, add)}
