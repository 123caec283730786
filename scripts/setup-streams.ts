/** Creates or updates the JetStream streams and the durable consumer: `npm run streams:setup`. */
import { loadConfig } from "../src/lib/config.ts";
import { connectJetStream, ensureStreams, streamNames, streamSetupOptions } from "../src/lib/streams.ts";

const config = loadConfig();
const names = streamNames(config.streamPrefix);
const { nc, jsm } = await connectJetStream(config.natsUrl, "flash-sale-setup");
try {
  await ensureStreams(jsm, names, streamSetupOptions(config));
  console.log(`streams ready: ${names.orders} (${names.ordersSubjects}), ${names.deadLetter}; consumer ${names.ordersConsumer}`);
} finally {
  await nc.close();
}
