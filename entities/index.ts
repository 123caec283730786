import { Product } from "./product.ts";
import { Order } from "./order.ts";
import { PaymentEvent } from "./payment-event.ts";

/** The explicit entity list of the one MikroORM configuration (src/lib/db.ts). */
export const entities = [Product, Order, PaymentEvent];
export { Product, Order, PaymentEvent };
