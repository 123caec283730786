/**
 * The durable hand-over of reservations: their `order.reserved` message on the order
 * stream. A 202 is sent only once this resolved. The reservations and replays of one
 * batch (./reserve-batch.ts) travel as one message.
 *
 * The message id makes a resend of the same message one stored message (JetStream keeps
 * one per id within its duplicate window): the order id for one order, a digest of the
 * order ids for several. Different batches that share an order (a replay in a later
 * batch) are different messages; the order writer's insert is idempotent on the order
 * id, so the order is written once.
 */
import { createHash } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { StreamNames } from "./streams.ts";
import { encodeOrdersMessage } from "../domain/order-message.ts";
import type { ReservationRecord } from "../contracts/reservation.ts";

/** Publishes the reservations of one product as one message. */
export async function publishReservations(
  js: JetStreamClient, streams: StreamNames, orders: readonly ReservationRecord[], timeoutMs: number,
): Promise<void> {
  await js.publish(streams.ordersSubject(orders[0].product_id), encodeOrdersMessage(orders), {
    msgID: batchMessageId(orders),
    expect: { streamName: streams.orders },
    timeout: timeoutMs,
  });
}

/** The order id of one order; for several, a digest of their ids (the same batch resent is the same message). */
export function batchMessageId(orders: readonly ReservationRecord[]): string {
  if (orders.length === 1) return orders[0].order_id;
  const h = createHash("sha256");
  for (const o of orders) h.update(o.order_id);
  return `batch-${orders.length}-${h.digest("base64url").slice(0, 32)}`;
}
