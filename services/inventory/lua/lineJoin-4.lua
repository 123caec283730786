--[[
  lineJoin: a buyer joins a product's line; one live ticket per buyer (waiting or
  admitted): joining again answers that ticket. O(1): one INCR-like step and three
  hash writes.

  KEYS[1] line (see lineOpen-1.lua)   KEYS[2] tickets  hash  ticket id -> record
  KEYS[3] joins  hash  join number -> ticket id      KEYS[4] users  hash  user -> live ticket id

  ARGV[1] new ticket id (random secret)   ARGV[2] user   ARGV[3] now (ms)

  Returns (ScriptCode.lineJoin)
    0 JOINED     {0, ticket_id, join_number}
    1 HELD       {1, ticket_id, join_number}   the buyer's live ticket, unchanged
    2 NOT_OPEN   {2, opens}                    before queue_opens_at
    3 CLOSED     {3}                           a draw at or after its draw, or the sale ended
    4 NO_LINE    {4}                           the product has no line (or no shard)
]]
local rcall = redis.call
local lineKey, ticketsKey, joinsKey, usersKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ticketId, user, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- @include "lineTicket"

local l = readLine(lineKey)
if not l then return {4} end
if now < l.opens then return {2, l.opens} end
if l.ends and now >= l.ends then return {3} end
if l.mode == "draw" and now >= l.draws then return {3} end

local held = rcall("HGET", usersKey, user)
if held then
  local rec = rcall("HGET", ticketsKey, held)
  if rec then
    local t = decodeTicket(rec)
    if t.status == "w" or t.status == "a" then return {1, held, t.join} end
  end
end

drawIfDue(lineKey, l, now) -- a join after the start is a late joiner, behind the drawn ones
local join = l.n
rcall("HSET", lineKey, "n", join + 1)
rcall("HSET", ticketsKey, ticketId, encodeTicket({ join = join, user = user, joinedAt = now, status = "w" }))
rcall("HSET", joinsKey, join, ticketId)
rcall("HSET", usersKey, user, ticketId)
return {0, ticketId, join}
