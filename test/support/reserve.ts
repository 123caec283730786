/**
 * Reservations straight to the inventory (`inventory.reserveMany`, as a gateway sends
 * them): each request's answer as the action gives it, or one request alone as a batch
 * of one, its error thrown.
 */
import type { ServiceBroker } from "moleculer";
import { errorOfValue, isErrorValue, type ErrorValue } from "../../src/lib/errors.ts";
import type { OrderRequest, ReserveManyRequest, ReserveOutcome } from "../../src/contracts/reservation.ts";

/** ctx.meta of the call: `deadline` as a gateway sets it. */
export interface ReserveMeta {
  deadline?: number;
}

/** The requests of one product in one call: one answer each, in order. */
export function reserveMany(broker: ServiceBroker, productId: number, requests: ReserveManyRequest[], meta: ReserveMeta = {}): Promise<Array<ReserveOutcome | ErrorValue>> {
  return broker.call<Array<ReserveOutcome | ErrorValue>, object>("inventory.reserveMany", { product_id: productId, requests }, { meta });
}

/** One request, alone in its call: its outcome, or its error thrown. */
export async function reserveOne(
  broker: ServiceBroker, order: OrderRequest, opts: { idempotencyKey?: string | null; orderId?: string } & ReserveMeta = {},
): Promise<ReserveOutcome> {
  const { idempotencyKey = null, orderId, ...meta } = opts;
  const request: ReserveManyRequest = { qty: order.qty, idempotency_key: idempotencyKey };
  if (order.user_id !== undefined) request.user_id = order.user_id;
  if (orderId !== undefined) request.order_id = orderId;
  const [answer] = await reserveMany(broker, order.product_id, [request], meta);
  if (isErrorValue(answer)) throw errorOfValue(answer);
  return answer;
}
