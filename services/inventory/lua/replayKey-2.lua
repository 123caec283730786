--[[
  replayKey: a keyed request on a product a gateway knows is sold out
  (services/gateway/sold-out-edge.ts): if its key already won, the winning reservation's
  record, answered as the replay; the reservation, if still held, is marked answered
  (includes/markAnswered.lua), as the reserve rule marks every replay, so that the
  release of an unanswered reservation keeps it and a WAIT after this call covers it.

  KEYS[1] res   hash   order id -> reservation record
  KEYS[2] idem  string the key's idempotency record (the reservation record it made)

  ARGV[1] the request's hash (src/domain/reservation.ts requestHash)

  Returns the key's record (JSON, src/contracts/shard-record.ts), or nil: the key never
  won here. The caller compares the record's request hash again to tell a replay from a
  reused key; only a replay's reservation is marked.
]]
local rcall = redis.call
-- @include "markAnswered"

local raw = rcall("GET", KEYS[2])
if not raw then return false end
local rec = cjson.decode(raw)
if rec.h == ARGV[1] then markAnswered(KEYS[1], rec.o) end
return raw
