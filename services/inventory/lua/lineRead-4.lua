--[[
  lineRead: one consistent reading of a line, and of one of its tickets: what GET of the
  line and of a ticket answer (positions and estimates are computed from it by the
  caller, which holds the seed's permutation).

  KEYS[1] line   KEYS[2] tickets   KEYS[3] stock   KEYS[4] meta (the product's)

  ARGV[1] ticket id ("" = the line only)

  Returns (ScriptCode.lineRead)
    0 READ       {0, mode, opens, draws, ends, per_entry, ttl, rate, paused, seed_sha256,
                  seed ("" until the draw), n, early ("" until the draw), served, aside,
                  admitted, expired, left_waiting, left_admitted, available, reserved,
                  ticket record ("" = none)}
    1 NO_LINE    {1}
]]
local rcall = redis.call
local lineKey, ticketsKey, stockKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local v = rcall("HMGET", lineKey, "mode", "opens", "draws", "ends", "per_entry", "ttl", "rate", "paused",
  "seed_sha256", "seed", "n", "early", "served", "aside", "admitted", "expired", "left_waiting", "left_admitted")
if not v[1] then return {1} end
if not v[12] then v[10] = "" end -- the seed stays secret until the draw fixed the order
local reply = {0}
for i = 1, #v do reply[#reply + 1] = v[i] or "" end
reply[#reply + 1] = rcall("GET", stockKey) or "0"
reply[#reply + 1] = rcall("HGET", metaKey, "reserved") or "0"
reply[#reply + 1] = ARGV[1] ~= "" and rcall("HGET", ticketsKey, ARGV[1]) or ""
return reply
