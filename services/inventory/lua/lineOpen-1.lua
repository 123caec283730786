--[[
  lineOpen: give a product its line (access "queue" or "draw"), once. A retry (or a
  second node) finds it open and changes nothing: the seed, whose hash was published
  with the product, never changes.

  KEYS[1] line   hash   mode, opens, draws, ends ("" = none) (ms), per_entry, ttl (ms),
                        rate (entries/s, 0 = unbounded), paused (0/1), seed (hex),
                        seed_sha256, n (tickets joined), early (joined before draws; set
                        at the draw), served (places passed), aside (units set aside for
                        unused entries), admitted, expired, left_waiting, left_admitted

  ARGV[1] mode   ARGV[2] opens   ARGV[3] draws   ARGV[4] ends ("" = none)
  ARGV[5] per_entry   ARGV[6] ttl (ms)   ARGV[7] rate   ARGV[8] seed   ARGV[9] seed_sha256

  Returns (ScriptCode.lineOpen, ../script-codes.ts)
    0 OPENED        {0, seed_sha256}
    1 ALREADY_OPEN  {1, seed_sha256}   the line as it was opened first
]]
local rcall = redis.call
local lineKey = KEYS[1]
local existing = rcall("HGET", lineKey, "seed_sha256")
if existing then return {1, existing} end
rcall("HSET", lineKey, "mode", ARGV[1], "opens", ARGV[2], "draws", ARGV[3], "ends", ARGV[4],
  "per_entry", ARGV[5], "ttl", ARGV[6], "rate", ARGV[7], "paused", 0, "seed", ARGV[8], "seed_sha256", ARGV[9],
  "n", 0, "served", 0, "aside", 0, "admitted", 0, "expired", 0, "left_waiting", 0, "left_admitted", 0)
return {0, ARGV[9]}
