--[[
  reserveMany(keys, now, ttl, idemTtl, reqs): the reservation rule, applied to the
  requests of one product in arrival order (reserveBatch-8.lua; a single request is a
  batch of one), so a request in a batch keeps exactly the rules it has alone. Expects
  `rcall` (redis.call) to be a local of the including script, and markAnswered
  (includes/markAnswered.lua) and lineTicket (includes/lineTicket.lua) to be included
  before it.

  keys = {meta, stock, res, exp, users, line, lineTickets, lineEntries} (reserveBatch-8.lua's KEYS)
  reqs[i] = {orderId, qty, userId ("" = anonymous), requestHash ("" = no idempotency key),
             clientKey (the key as sent, "" = none), idemKey (its record's Redis key),
             entryTicket ("" = none), entryRefused ("" = not refused by the gateway)}

  Checks, per request and in this order: the shard is loaded; this idempotency key or
  order id was already answered (replay); for a product sold through a line (access
  queue or draw), its entry (API.md rule 4: one order per entry, by the entry's buyer,
  before it expires, qty <= per_entry); the request fits the product (max_per_order,
  user required by a per-user limit); the sale window; the per-user limit; the stock.
  Nothing is written for a request unless every check passes. An entry's units were set
  aside when it was admitted (lineAdmit-6.lua): its order takes them, what it does not
  take goes back to available (for the line's next step), and the entry is used up.

  Each key is read once for the whole call (the product's rules and stock, the
  reservations of the call's order ids, the units its users hold, its idempotency
  records), and what a request writes is kept in local tables that the requests after it
  read first: request i sees the writes of requests 1..i-1 exactly as if they had been
  sent one after another. The writes go out at the end, one command per key (the script
  is atomic: nobody sees the state in between). A winner of a drop thus costs a share of
  about ten commands per batch instead of ten of its own.

  Returns one reply per request; the codes are in reserveBatch-8.lua's header.
]]
local function reserveMany(keys, now, ttl, idemTtl, reqs)
  local metaKey, stockKey, resKey, expKey, usersKey = keys[1], keys[2], keys[3], keys[4], keys[5]
  local n = #reqs
  local replies = {}
  if n == 0 then return replies end
  local meta = rcall("HMGET", metaKey, "epoch", "price_cents", "per_user_limit", "max_per_order", "starts_at_ms", "ends_at_ms", "access")
  local available = rcall("GET", stockKey)
  if not meta[1] or not available then
    for i = 1, n do replies[i] = {3} end
    return replies
  end
  available = tonumber(available)
  local price, limit, maxPerOrder = tonumber(meta[2]), tonumber(meta[3]), tonumber(meta[4])
  local startsAt, endsAt = tonumber(meta[5]), tonumber(meta[6])
  -- a line's product: every order needs its entry (the line's per_entry units set aside)
  local lined = meta[7] == "queue" or meta[7] == "draw"
  local perEntry = lined and tonumber(rcall("HGET", keys[6], "per_entry") or "0") or 0
  local entries = {}   -- ticket id -> its record, as this call changed it
  local entriesUsed = 0

  -- one read per key for the whole call
  local ids, users, seenUser, idemKeys, idemAt = {}, {}, {}, {}, {}
  for i = 1, n do
    local r = reqs[i]
    ids[i] = r[1]
    local u = r[3]
    if u ~= "" and not seenUser[u] then
      seenUser[u] = true
      users[#users + 1] = u
    end
    if r[4] ~= "" then
      idemKeys[#idemKeys + 1] = r[6]
      idemAt[i] = #idemKeys
    end
  end
  local storedRes = rcall("HMGET", resKey, unpack(ids))
  local held = {}
  if #users > 0 then
    local h = rcall("HMGET", usersKey, unpack(users))
    for j = 1, #users do held[users[j]] = tonumber(h[j] or "0") end
  end
  local storedIdem = #idemKeys > 0 and rcall("MGET", unpack(idemKeys)) or {}

  -- what this call wrote, read before the stored state: order id -> record, idempotency key -> record
  local newRes, newIdem, marked = {}, {}, {}
  local resArgs, expArgs, idemSets, changedUsers, userChanged = {}, {}, {}, {}, {}
  local taken = 0          -- units taken from available (less those an entry brought back)
  local reservedUnits = 0

  for i = 1, n do
    local r = reqs[i]
    local orderId, qty, userId, requestHash, clientKey, idemKey = r[1], r[2], r[3], r[4], r[5], r[6]
    -- the record this request replays: its idempotency key's (KEY_REUSED if that key came
    -- with another body), else its order id's
    local rec, reused = nil, false
    if requestHash ~= "" then
      rec = newIdem[idemKey]
      if not rec and storedIdem[idemAt[i]] then rec = cjson.decode(storedIdem[idemAt[i]]) end
      reused = rec ~= nil and rec.h ~= requestHash
    end
    if not rec then
      rec = newRes[orderId]
      if not rec and storedRes[i] then rec = cjson.decode(storedRes[i]) end
    end
    -- the entry of a line's order (after the replay: a replay is answered whatever its token)
    local entry, entryTicket, entryWhy = nil, r[7], nil
    if lined and not reused and not rec then
      if r[8] ~= "" then entryWhy = r[8]
      elseif entryTicket == "" then entryWhy = false
      else
        entry = entries[entryTicket]
        if not entry then
          local raw = rcall("HGET", keys[7], entryTicket)
          entry = raw and decodeTicket(raw)
        end
        if not entry or entry.user ~= userId then entryWhy = "the entry is not this buyer's"
        elseif entry.status == "u" then entryWhy = "used"
        elseif entry.status ~= "a" or (tonumber(entry.expiresAt) or 0) <= now then entryWhy = "the entry has expired"
        end
      end
    end
    if reused then replies[i] = {2}
    elseif entryWhy == false then replies[i] = {11}
    elseif entryWhy == "used" then replies[i] = {12}
    elseif entryWhy then replies[i] = {10, entryWhy}
    elseif entry and qty > perEntry then replies[i] = {5, perEntry, "per_entry"}
    elseif rec then
      replies[i] = {1, rec.o, rec.q, rec.a, rec.e, rec.c, rec.u}
      -- made by an earlier call (whose answer may have been a 503): this replay answers it
      if not newRes[rec.o] and not marked[rec.o] then
        marked[rec.o] = true
        markAnswered(resKey, rec.o)
      end
    elseif qty > maxPerOrder then replies[i] = {5, maxPerOrder}
    elseif limit and userId == "" then replies[i] = {6}
    elseif startsAt and now < startsAt then replies[i] = {4, "before"}
    elseif endsAt and now >= endsAt then replies[i] = {4, "after"}
    elseif limit and held[userId] + qty > limit then replies[i] = {7, held[userId], limit}
    -- the rules a gateway needs to answer SOLD_OUT itself without changing an answer
    elseif not entry and available <= 0 then replies[i] = {8, maxPerOrder, meta[3] or "", meta[6] or ""}
    elseif not entry and available < qty then replies[i] = {9, available}
    else
      -- the entry's units come back from aside: its order takes qty of them
      if entry then
        available = available + perEntry
        taken = taken - perEntry
        entry.status, entry.order = "u", orderId
        entries[entryTicket] = entry
        entriesUsed = entriesUsed + 1
      end
      local amount = price * qty
      local expiresAt = now + ttl
      rec = {o = orderId, q = qty, u = userId, a = amount, e = expiresAt, c = now, k = clientKey, h = requestHash}
      local encoded = cjson.encode(rec)
      available = available - qty
      taken = taken + qty
      reservedUnits = reservedUnits + qty
      newRes[orderId] = rec
      resArgs[#resArgs + 1] = orderId
      resArgs[#resArgs + 1] = encoded
      expArgs[#expArgs + 1] = expiresAt
      expArgs[#expArgs + 1] = orderId
      if userId ~= "" then
        held[userId] = held[userId] + qty
        if not userChanged[userId] then
          userChanged[userId] = true
          changedUsers[#changedUsers + 1] = userId
        end
      end
      if requestHash ~= "" then
        newIdem[idemKey] = rec
        idemSets[#idemSets + 1] = idemKey
        idemSets[#idemSets + 1] = encoded
      end
      replies[i] = {0, orderId, qty, amount, expiresAt, now, available}
    end
  end

  if entriesUsed > 0 then
    for ticketId, t in pairs(entries) do
      rcall("HSET", keys[7], ticketId, encodeTicket(t))
      rcall("ZREM", keys[8], ticketId)
    end
    rcall("HINCRBY", keys[6], "aside", -entriesUsed * perEntry)
    rcall("HINCRBY", keys[6], "used", entriesUsed)
  end
  if #resArgs > 0 then
    if taken ~= 0 then rcall("DECRBY", stockKey, taken) end
    rcall("HINCRBY", metaKey, "reserved", reservedUnits)
    rcall("HSET", resKey, unpack(resArgs))
    rcall("ZADD", expKey, unpack(expArgs))
    if #changedUsers > 0 then
      local totals = {}
      for _, u in ipairs(changedUsers) do
        totals[#totals + 1] = u
        totals[#totals + 1] = held[u]
      end
      rcall("HSET", usersKey, unpack(totals))
    end
    -- a key is written once: a later request with it in this call replayed it or was refused
    for j = 1, #idemSets, 2 do rcall("SET", idemSets[j], idemSets[j + 1], "EX", idemTtl) end
  end
  return replies
end
