/**
 * The durable hand-over of a reservation: its `order.reserved` message on the order
 * stream, with the order id as message id (JetStream keeps one per id within its
 * duplicate window; past it, the order writer's insert is idempotent on the id). A 202 is
 * sent only once this resolved. Used by the inventory for every reservation and replay,
 * and by a gateway replaying a winning key itself (src/lib/sold-out-edge.ts).
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import type { StreamNames } from "./streams.ts";
import { encodeOrderMessage } from "../domain/order-message.ts";
import type { ReservedOrder } from "../domain/reservation.ts";

export async function publishReservation(
  js: JetStreamClient, streams: StreamNames, order: ReservedOrder, idempotencyKey: string | null, timeoutMs: number,
): Promise<void> {
  await js.publish(streams.ordersSubject(order.product_id), encodeOrderMessage(order, idempotencyKey), {
    msgID: order.order_id,
    expect: { streamName: streams.orders },
    timeout: timeoutMs,
  });
}
