import { defineEntity, p } from "@mikro-orm/core";

/**
 * One webhook delivery from the payment provider, unique on `event_id`: a re-delivery
 * finds this row and gets the stored answer. `outcome` says what the event did;
 * `parked` events wait for their order row and are applied by the order consumer.
 */
export const PaymentEvent = defineEntity({
  name: "PaymentEvent",
  tableName: "payment_events",
  properties: {
    eventId: p.string().length(128).primary(),
    orderId: p.uuid().index(),
    status: p.string().length(16),
    amountCents: p.bigint("number"),
    outcome: p.string().length(24),
    httpStatus: p.integer(),
    response: p.json<Record<string, unknown>>(),
    receivedAt: p.datetime(),
    appliedAt: p.datetime().nullable(),
  },
  checks: [
    { name: "payment_events_status_check", expression: "status in ('succeeded','failed')" },
  ],
});
