--[[
  snapshot: read a product's metadata and live stock together (one consistent view).

  KEYS[1] meta  KEYS[2] stock

  Returns {} when the shard is not loaded, else {available, field1, value1, field2, value2, ...}.
]]
local rcall = redis.call
local available = rcall("GET", KEYS[2])
if not available or rcall("HEXISTS", KEYS[1], "epoch") == 0 then return {} end
local out = {available}
for _, v in ipairs(rcall("HGETALL", KEYS[1])) do out[#out + 1] = v end
return out
