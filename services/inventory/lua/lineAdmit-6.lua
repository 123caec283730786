--[[
  lineAdmit: one step of a line, run by the inventory node that owns the product on a
  timer and whenever units come back. In order:
  1. entries unused past their expiry turn `expired`, their units back to available;
  2. the draw, if it is due (see includes/lineTicket.lua);
  3. the next places are admitted while per_entry units are available for each: the
     units move from available to set aside (rule 2: an entry never promises a unit
     that is not there), the ticket turns `admitted` with an entry expiring at
     now + ttl (never after the sale's end). A place whose ticket left is passed.
  O(1) per event: the caller names the join numbers of the places it asks for (it holds
  the seed's permutation, ../../src/domain/line-order.ts); nothing is read or written
  for tickets the step does not reach.

  KEYS[1] line   KEYS[2] tickets   KEYS[3] joins   KEYS[4] entries   KEYS[5] stock
  KEYS[6] meta (the product's: reserved units of unpaid orders)

  ARGV[1] now (ms)   ARGV[2] the first place asked (served + 1 as the caller read it)
  ARGV[3..] the join numbers at places ARGV[2], ARGV[2] + 1, … (as many as may be
            admitted now: the caller's rate budget)

  Returns (ScriptCode.lineAdmit)
    0 STEPPED    {0, served, available, aside, reserved, expired, admitted,
                  ticket_1, place_1, expires_1, ticket_2, ...}
    1 STALE      {1, served, early}   the first place is not served + 1, or the draw
                                      happened in this step (ask again with its places)
    2 NO_LINE    {2}
]]
local rcall = redis.call
local lineKey, ticketsKey, joinsKey, entriesKey, stockKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now, first = tonumber(ARGV[1]), tonumber(ARGV[2])
-- @include "lineTicket"

local l = readLine(lineKey)
if not l then return {2} end
local available = tonumber(rcall("GET", stockKey) or "0")

-- 1. expired entries give their units back
local expired = 0
local due = rcall("ZRANGEBYSCORE", entriesKey, "-inf", now, "LIMIT", 0, 1000)
for _, ticketId in ipairs(due) do
  local rec = rcall("HGET", ticketsKey, ticketId)
  if rec then
    local t = decodeTicket(rec)
    t.status = "x"
    rcall("HSET", ticketsKey, ticketId, encodeTicket(t))
  end
  rcall("ZREM", entriesKey, ticketId)
  expired = expired + 1
end
if expired > 0 then
  available = rcall("INCRBY", stockKey, expired * l.per_entry)
  l.aside = rcall("HINCRBY", lineKey, "aside", -expired * l.per_entry)
  rcall("HINCRBY", lineKey, "expired", expired)
end

-- 2. the draw
local early = l.early
drawIfDue(lineKey, l, now)
if early == nil and l.early ~= nil then return {1, l.served, l.early} end

-- 3. admissions: after the draw, while not paused, before the end
local out = {}
local admitted = 0
if l.early ~= nil and l.paused ~= 1 and not (l.ends and now >= l.ends) then
  if first ~= l.served + 1 then return {1, l.served, l.early} end
  local expiresAt = now + l.ttl
  if l.ends and expiresAt > l.ends then expiresAt = l.ends end
  for i = 3, #ARGV do
    local place = first + i - 3
    if place > l.n or available < l.per_entry then break end
    local ticketId = rcall("HGET", joinsKey, ARGV[i])
    local rec = ticketId and rcall("HGET", ticketsKey, ticketId)
    if rec then
      local t = decodeTicket(rec)
      if t.status == "w" then
        t.status, t.expiresAt = "a", expiresAt
        rcall("HSET", ticketsKey, ticketId, encodeTicket(t))
        rcall("ZADD", entriesKey, expiresAt, ticketId)
        available = available - l.per_entry
        admitted = admitted + 1
        out[#out + 1] = ticketId
        out[#out + 1] = place
        out[#out + 1] = expiresAt
      end
    end
    l.served = place
  end
  if admitted > 0 then
    rcall("DECRBY", stockKey, admitted * l.per_entry)
    l.aside = rcall("HINCRBY", lineKey, "aside", admitted * l.per_entry)
    rcall("HINCRBY", lineKey, "admitted", admitted)
  end
  rcall("HSET", lineKey, "served", l.served)
end

local reserved = tonumber(rcall("HGET", metaKey, "reserved") or "0")
local reply = {0, l.served, available, l.aside, reserved, expired, admitted}
for _, v in ipairs(out) do reply[#reply + 1] = v end
return reply
