--[[
  markAnswered(resKey, orderId): a replay is about to answer this reservation 202 (the
  inventory's, or a gateway's at the sold-out edge): mark its record (field r = 1) so that
  the release of an unanswered reservation (release-6.lua with ARGV[2] == "1", after the
  call that made it was refused for want of replicas or of the stream) keeps it. The
  mark is also the replay's write: WAIT only counts the writes of its own connection,
  and replication is ordered, so the replay's WAIT covers the reservation itself (made
  by another call, maybe on another connection) only if the replay wrote after it.
  A reservation no longer held (paid, or released once its order was settled in the
  database) needs neither. Expects `rcall` to be a local of the including script.
]]
local function markAnswered(resKey, orderId)
  local raw = rcall("HGET", resKey, orderId)
  if not raw then return end
  local rec = cjson.decode(raw)
  rec.r = 1
  rcall("HSET", resKey, orderId, cjson.encode(rec))
end
