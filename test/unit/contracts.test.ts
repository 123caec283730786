/**
 * The contracts between services (src/contracts/) are written by hand, below every
 * service; the published answers (client/schema.d.ts) are generated from
 * services/gateway/openapi/answers.ts. Where a contract is a published answer, the two must be
 * the same type: `npm run typecheck` fails on the line of the one that drifted.
 */
import type { components } from "../../client/schema.d.ts";
import type { OrderView } from "../../src/contracts/order-view.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { AuditReport } from "../../src/contracts/reports.ts";

type Published = components["schemas"];
/** true only when A and B are the same type (each assignable to the other is not enough for optional fields) */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const order: Same<OrderView, Published["Order"]> = true;
const product: Same<ProductView, Published["Product"]> = true;
const audit: Same<AuditReport, Published["Audit"]> = true;

test("the order view, the product view and the audit report are the published answers' types", () => {
  expect([order, product, audit]).toEqual([true, true, true]);
});
