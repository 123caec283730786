--[[
  lineLeave: the buyer leaves the line. A waiting ticket's place is skipped when the
  line reaches it; an admitted ticket's units go back at once (to the line: the next
  admission takes them). A final ticket is answered as it is.

  KEYS[1] line   KEYS[2] tickets   KEYS[3] users   KEYS[4] entries  zset  admitted ticket
  id, scored by its entry's expiry (ms)   KEYS[5] stock (the product's available units)

  ARGV[1] ticket id

  Returns (ScriptCode.lineLeave)
    0 LEFT       {0, record}
    1 FINAL      {1, record}   used, expired or left already: nothing changed
    2 NO_TICKET  {2}
]]
local rcall = redis.call
local lineKey, ticketsKey, usersKey, entriesKey, stockKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ticketId = ARGV[1]
-- @include "lineTicket"

local rec = rcall("HGET", ticketsKey, ticketId)
if not rec then return {2} end
local t = decodeTicket(rec)
if t.status ~= "w" and t.status ~= "a" then return {1, rec} end
if t.status == "a" then
  local perEntry = tonumber(rcall("HGET", lineKey, "per_entry"))
  rcall("ZREM", entriesKey, ticketId)
  rcall("HINCRBY", lineKey, "aside", -perEntry)
  rcall("INCRBY", stockKey, perEntry)
end
rcall("HINCRBY", lineKey, t.status == "w" and "left_waiting" or "left_admitted", 1)
t.status = "l"
rec = encodeTicket(t)
rcall("HSET", ticketsKey, ticketId, rec)
if rcall("HGET", usersKey, t.user) == ticketId then rcall("HDEL", usersKey, t.user) end
return {0, rec}
