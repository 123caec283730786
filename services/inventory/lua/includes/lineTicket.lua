--[[
  A line's ticket record, one field of the line's `tickets` hash per ticket:
  "join|user|joinedAt|status|entryExpiresAt|orderId" ("" where not yet known).
  status: w waiting, a admitted, u used, x expired (entry unused), l left.
  (`sold_out` and `lost` are read from the line, never written per ticket: a waiting
  ticket of a line with nothing left is sold out; one still waiting or admitted at the
  sale's end is lost.)
]]
local function decodeTicket(s)
  local f = {}
  for v in string.gmatch(s .. "|", "([^|]*)|") do f[#f + 1] = v end
  return { join = tonumber(f[1]), user = f[2], joinedAt = tonumber(f[3]), status = f[4], expiresAt = f[5], order = f[6] }
end

local function encodeTicket(t)
  return table.concat({ t.join, t.user, t.joinedAt, t.status, t.expiresAt or "", t.order or "" }, "|")
end

-- line fields read by every line script, numbers where they are numbers
local LINE_FIELDS = { "mode", "opens", "draws", "ends", "per_entry", "ttl", "paused", "n", "early", "served", "aside" }
local function readLine(lineKey)
  local v = rcall("HMGET", lineKey, unpack(LINE_FIELDS))
  if not v[1] then return nil end
  local l = {}
  for i, name in ipairs(LINE_FIELDS) do
    if name == "mode" then l[name] = v[i] else l[name] = tonumber(v[i]) end
  end
  l.n, l.served, l.aside = l.n or 0, l.served or 0, l.aside or 0
  return l
end

-- The draw: the first step at or after `draws` fixes how many joined before it (the
-- early joiners, placed by the seed's permutation); later joiners queue behind them.
local function drawIfDue(lineKey, l, now)
  if l.early == nil and now >= l.draws then
    l.early = l.n
    rcall("HSET", lineKey, "early", l.early)
  end
end
