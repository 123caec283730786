/**
 * Runs one node: the services named in SERVICES (all five by default), after the
 * set-up steps a node needs (database migrations, JetStream streams). With
 * SEED_PRODUCT=true it creates a demo product when the database has none.
 * Stops gracefully on SIGINT/SIGTERM (src/lib/lifecycle.ts): unready at once, drains,
 * finishes running requests and the order consumer's batch, acks, exits.
 */
import { loadConfig, ConfigError, DEV_ADMIN_TOKEN } from "../src/lib/config.ts";
import { migrateUp } from "../src/lib/db.ts";
import { connectJetStream, ensureStreams, streamNames, streamSetupOptions } from "../src/lib/streams.ts";
import { createBroker } from "../services/index.ts";
import { lifecycleOf } from "../src/lib/lifecycle.ts";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`configuration error: ${err.message}`);
    process.exit(78);
  }
  throw err;
}

const needsDb = config.services.some((s) => ["inventory", "orders", "payments", "sweeper"].includes(s));
if (needsDb) {
  const applied = await migrateUp(config.databaseUrl);
  if (applied.length) console.log(`migrations applied: ${applied.join(", ")}`);
}
if (config.services.includes("inventory") || config.services.includes("orders")) {
  const { nc, jsm } = await connectJetStream(config.natsUrl, "flash-sale-setup");
  await ensureStreams(jsm, streamNames(config.streamPrefix), streamSetupOptions(config));
  await nc.close();
}

const broker = createBroker(config, {}, (code) => process.exit(code));
await broker.start();

let productId = 1;
if (config.seedProduct && config.services.includes("inventory")) {
  const seeded = await broker.call<{ id: number; name: string } | null, object>("inventory.seedDemo", {});
  if (seeded) {
    console.log(`seeded product ${seeded.id} "${seeded.name}"`);
    productId = seeded.id;
  }
}

if (config.services.includes("gateway")) {
  const base = `http://127.0.0.1:${config.port}`;
  console.log(`\nflash-sale listening on ${base} (node ${broker.nodeID}, services: ${config.services.join(", ")})`);
  console.log(`storefront: ${base}/${productId === 1 ? "" : `?product=${productId}`}`);
  // with BUYER_AUTH=jwt the buyer is the token's sub: the curl sends a token, no user_id
  const jwt = config.buyerAuth.mode === "jwt";
  const buyer = jwt ? `-H "Authorization: Bearer $BUYER_JWT" ` : "";
  const order = jwt ? `{"product_id":${productId},"qty":1}` : `{"product_id":${productId},"qty":1,"user_id":"u-1"}`;
  console.log(`try:\n  curl -s ${base}/api/products/${productId}\n  curl -sN ${base}/api/products/${productId}/events\n  curl -s -X POST ${base}/api/orders ${buyer}-H 'Content-Type: application/json' -H "Idempotency-Key: $(uuidgen 2>/dev/null || echo demo-1)" -d '${order}'`);
  if (jwt) console.log("  (BUYER_JWT: a token of your identity provider, signed with BUYER_JWT_SECRET or a key of BUYER_JWKS)");
  const signIn = config.adminToken === DEV_ADMIN_TOKEN ? `ADMIN_TOKEN, unset here: the development token ${DEV_ADMIN_TOKEN}` : "ADMIN_TOKEN";
  console.log(`\nwatch it: ${base}/dashboard (sign in with ${signIn})\n`);
}

// Graceful shutdown (src/lib/lifecycle.ts): unready at once, drain, finish, exit.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void lifecycleOf(broker).shutdown(signal, (code) => process.exit(code)));
}
