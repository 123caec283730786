/**
 * Moleculer's NATS transporter, with the packets of one event-loop turn written to the
 * socket together. nats.js flushes its outbound buffer in a microtask after the first
 * publish, so a node serving requests that arrive on many connections, each in a socket
 * callback of its own, writes once per packet: one write(2) per request and per answer,
 * about a quarter of a gateway's busy time in the scale-out profile (bench/results/HISTORY.md,
 * 2026-12-04). Here `send` queues the packet and one setImmediate publishes, in order,
 * everything queued meanwhile, so nats.js writes it in one go. A packet waits at most
 * until the check phase of the loop turn it was sent in. A publish that throws (payload
 * over the server's max_payload, connection closed) rejects that packet's send, as the
 * stock transporter's does. `send` resolves once nats.js has the packet, so a stopping
 * broker, which waits for its DISCONNECT packet, has published everything before the
 * connection closes; `disconnect` publishes anything still queued all the same.
 */
import moleculer from "moleculer";

interface NatsClient {
  publish(subject: string, data: Uint8Array): void;
}
interface Queued {
  topic: string;
  data: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const NatsTransporter = moleculer.Transporters.NATS as unknown as new (opts: unknown) => {
  client: NatsClient | null;
  send(topic: string, data: Buffer): Promise<void>;
  disconnect(): Promise<void>;
};

export class BatchingNatsTransporter extends NatsTransporter {
  #queue: Queued[] = [];
  #scheduled = false;

  override send(topic: string, data: Buffer): Promise<void> {
    if (!this.client) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, data, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.#publishQueued());
    });
  }

  override disconnect(): Promise<void> {
    this.#publishQueued();
    return super.disconnect();
  }

  #publishQueued(): void {
    this.#scheduled = false;
    const queued = this.#queue;
    this.#queue = [];
    for (const p of queued) {
      try {
        this.client?.publish(p.topic, p.data);
        p.resolve();
      } catch (err) {
        p.reject(err);
      }
    }
  }
}
