// Recomputes a line's order from what GET /api/products/{id}/queue publishes once the
// order is drawn (API.md, "Fair access", rule 1): `seed` (hex), `early_joiners`, and the
// algorithm it names, feistel8-hmac-sha256-cyclewalk. Plain Node, nothing to install:
//
//   node scripts/line-places.mjs <seed> <early_joiners> [join_number ...]
//
// prints "join_number place" for each join number given (all of them when none is).
// Check first that sha256(seed) is the `seed_sha256` published before the first join.
import { createHash, createHmac } from "node:crypto";

const [seedHex, earlyText, ...joins] = process.argv.slice(2);
const seed = Buffer.from(seedHex ?? "", "hex");
const n = Number(earlyText);
if (seed.length !== 32 || !Number.isSafeInteger(n) || n < 0) {
  console.error("usage: node scripts/line-places.mjs <seed: 64 hex digits> <early_joiners> [join_number ...]");
  process.exit(2);
}
let bits = 2;
while (2 ** bits < n) bits += 2; // the smallest even b with 2^b >= n
const size = 2 ** (bits / 2);
const round = (r, x) => {
  const msg = Buffer.alloc(9);
  msg[0] = r;
  msg.writeBigUInt64BE(BigInt(x), 1);
  return createHmac("sha256", seed).update(msg).digest().readUInt32BE(0) & (size - 1);
};
const encrypt = (x) => {
  let [l, r] = [Math.floor(x / size), x % size];
  for (let i = 0; i < 8; i++) [l, r] = [r, (l ^ round(i, r)) >>> 0];
  return l * size + r;
};
// a place counts from 1; values outside [0, n) walk the cycle until they fall in it
const place = (join) => {
  let x = join;
  do x = encrypt(x);
  while (x >= n);
  return x + 1;
};
console.log(`# seed_sha256 ${createHash("sha256").update(seed).digest("hex")}`);
for (const j of joins.length > 0 ? joins.map(Number) : Array.from({ length: n }, (_, i) => i)) {
  console.log(j < n ? `${j} ${place(j)}` : `${j} ${j + 1}`); // later joiners queue behind, in arrival order
}
