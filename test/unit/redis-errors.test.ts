import { ReplyError } from "ioredis";
import { isRedisTransient, redisReplyCode } from "../../src/lib/redis.ts";

const reply = (message: string): Error => new ReplyError(message);

test("a Redis error reply is classified by its code, the first word", () => {
  expect(redisReplyCode(reply("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBe("WRONGTYPE");
  expect(redisReplyCode(new Error("WRONGTYPE not from Redis"))).toBeNull();
});

test("replies of a node that cannot serve the slot now are transient, a failed script is not", () => {
  for (const m of ["MOVED 3999 127.0.0.1:6381", "TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down", "LOADING Redis is loading the dataset in memory"]) {
    expect(isRedisTransient(reply(m))).toBe(true);
  }
  expect(isRedisTransient(reply("ERR user_script:12: Script attempted to access nonexistent global variable 'x'"))).toBe(false);
  // a script error that quotes a connection message is still a script error
  expect(isRedisTransient(reply("ERR Error running script: Connection is closed"))).toBe(false);
});

test("ioredis's connection errors, which carry no code, are transient", () => {
  expect(isRedisTransient(new Error("Connection is closed."))).toBe(true);
  expect(isRedisTransient(new Error("connect ECONNREFUSED 127.0.0.1:7001"))).toBe(true);
});
