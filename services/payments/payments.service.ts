/**
 * payments: owns the `payment_events` table. Checks the provider's signature on the
 * raw bytes, then records and applies each event in one transaction, idempotent on
 * `event_id`. Early events (order not written yet) are parked for the order consumer.
 */
import type { Context } from "moleculer";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { Config } from "../../src/lib/config.ts";
import type { TypedServiceSchema } from "../../src/lib/service-schema.ts";
import { FlashError } from "../../src/lib/errors.ts";
import { paymentEventParams, utf8Body } from "../../src/lib/params.ts";
import { ormResource } from "../../src/lib/resources.ts";
import { applyInventoryEffects } from "../../src/contracts/inventory-effects.ts";
import { verifyWebhookSignature } from "../../src/domain/webhook-signature.ts";
import { productIdOfOrder } from "../../src/domain/order-id.ts";
import type { PaymentEventInput } from "../../src/domain/payment.ts";
import type { WebhookReply } from "../../src/contracts/webhook-reply.ts";
import { recordPayment } from "../../src/db/apply-payment.ts";
import { reservationUnlessWritten } from "../../src/db/find-order.ts";

export default function paymentsService(config: Readonly<Config>): TypedServiceSchema {
  let orm: MikroORM;

  return {
    name: "payments",

    actions: {
      /** The provider's request: its signature on the raw bytes, then its event (`apply`). */
      webhook: {
        params: {
          raw: { type: "string", max: 32 * 1024 },
          signature: { type: "string", optional: true, max: 1024 },
        },
        async handler(ctx: Context<{ raw: string; signature?: string }>): Promise<WebhookReply> {
          const raw = Buffer.from(ctx.params.raw, "base64");
          const check = verifyWebhookSignature(
            config.webhookSecret, raw, ctx.params.signature, Math.floor(Date.now() / 1000), config.webhookToleranceSeconds,
          );
          if (!check.ok) throw new FlashError("INVALID_SIGNATURE", check.reason);

          const text = utf8Body(raw);
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            throw new FlashError("BAD_REQUEST", "the request body is not valid JSON");
          }
          // an action's params are an object: anything else is refused before
          if (typeof body !== "object" || body === null || Array.isArray(body)) {
            throw new FlashError("VALIDATION_ERROR", "the body must be a JSON object", { fields: { body: "object expected" } });
          }
          return this.actions.apply<Promise<WebhookReply>>(body, { parentCtx: ctx });
        },
      },
      /**
       * A signed payment event, checked by its declared params; private: only `webhook`
       * calls it, once the signature is verified.
       */
      apply: {
        visibility: "private",
        params: paymentEventParams,
        async handler(ctx: Context<PaymentEventInput>): Promise<WebhookReply> {
          const event: PaymentEventInput = { ...ctx.params, order_id: ctx.params.order_id.toLowerCase() };
          const productId = productIdOfOrder(event.order_id);
          // asked before the transaction: no network call while the product row is locked
          const reserved = productId !== null && (await reservationUnlessWritten(orm.em.fork(), event.order_id, () =>
            ctx.call<object | null, object>("inventory.reservation", { product_id: productId, order_id: event.order_id }))) !== null;

          const recorded = await orm.em.fork().transactional((em) => recordPayment(em, event, reserved));
          if (recorded.effect) await applyInventoryEffects(this.broker, [recorded.effect]);
          return { status: recorded.httpStatus, body: recorded.response };
        },
      },
    },

    async started() {
      orm = await ormResource.acquire(config);
    },

    async stopped() {
      await ormResource.release(config);
    },
  };
}
