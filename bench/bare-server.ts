/**
 * The ceiling: a bare Node `http` server that reads the request body and answers
 * every POST with 202 and a small JSON body (about the size of a real order
 * answer), every GET with 200. No framework, no validation, no I/O behind it: what
 * this machine's Node can do per core with the same load generator. Run as a child
 * process of bench/run.ts: PORT (required), HOST (127.0.0.1). Stops on SIGTERM.
 */
import { createServer } from "node:http";

const port = Number(process.env.PORT);
const host = process.env.HOST || "127.0.0.1";
if (!Number.isInteger(port) || port <= 0) {
  console.error("bare-server: set PORT");
  process.exit(2);
}

let seq = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    if (req.method === "POST") {
      seq++;
      const body = JSON.stringify({
        order_id: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
        status: "reserved",
        qty: 1,
        bytes: Buffer.concat(chunks).length,
      });
      res.writeHead(202, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    } else {
      const body = '{"status":"ok"}';
      res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length });
      res.end(body);
    }
  });
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () => console.log(`bare-server listening on http://${host}:${port}`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
