/** Creates or updates the JetStream streams and the durable consumer: `npm run streams:setup`. */
import { loadConfig } from "../src/lib/config.ts";
import { connectJetStream, ensureStreams, streamNames } from "../src/lib/streams.ts";

const config = loadConfig();
const names = streamNames(config.streamPrefix);
const { nc, jsm } = await connectJetStream(config.natsUrl, "flash-sale-setup");
try {
  await ensureStreams(jsm, names, {
    duplicateWindowMs: Math.max(2 * config.reservationTtlSeconds * 1000, 20 * 60 * 1000),
    consumerAckWaitMs: config.consumerAckWaitMs,
  });
  console.log(`streams ready: ${names.orders} (${names.ordersSubjects}), ${names.deadLetter}; consumer ${names.ordersConsumer}`);
} finally {
  await nc.close();
}
