/**
 * Types of the flash-sale HTTP API, generated from GET /api/openapi.json
 * (services/gateway/openapi/document.ts) by openapi-typescript. Do not edit: run
 * `npm run client:generate`.
 */

export interface paths {
  "/api/products/{id}": {
    /** A product and its live stock */
    get: operations["getApiProductsId"];
  };
  "/api/products/{id}/events": {
    /**
     * Live stock and sale state (Server-Sent Events)
     * @description Event `product` with the product at once and whenever `stock_available` or the sale state changes, coalesced to a few per second. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
     */
    get: operations["getApiProductsIdEvents"];
  };
  "/api/products/{id}/queue": {
    /**
     * The product's line: its seed commitment, draw and counts (public, no ticket ids)
     * @description `seed_sha256` is published from the first moment, `seed` once the order is drawn: with `early_joiners` and a join number, anyone recomputes that ticket's place (`algorithm`).
     */
    get: operations["getApiProductsIdQueue"];
    /**
     * Join the product's line (a queue or a draw)
     * @description 201 with a new ticket, or 200 with the buyer's live ticket (`waiting`, `admitted` or `sold_out`): one per buyer and product; a buyer whose ticket ended joins again at the back. With `BUYER_AUTH=none`, `user_id` is required; with `BUYER_AUTH=jwt` the buyer is the token's `sub` and a `user_id` must be absent or equal to it. `challenge`: ALTCHA's base64 payload of a solved challenge, needed when the product's `challenge` is on. Counts against the buyer's and the address's rate limits. The `ticket_id` is the buyer's secret: keep it.
     */
    post: operations["postApiProductsIdQueue"];
  };
  "/api/products/{id}/queue/challenge": {
    /**
     * A proof-of-work challenge to join the line (when the product's `challenge` is on)
     * @description ALTCHA's SHA-256 challenge: find `number` ≤ `maxnumber` whose hex SHA-256 of `salt + number` is `challenge`; bound to the product, good for 5 minutes, a solution for one join. 404 `NOT_FOUND` when the product's challenge is off.
     */
    get: operations["getApiProductsIdQueueChallenge"];
  };
  "/api/products/{id}/queue/{ticket_id}": {
    /**
     * A ticket: its status, position and, once admitted, its entry
     * @description With `BUYER_AUTH=jwt`, only for its buyer.
     */
    get: operations["getApiProductsIdQueueTicketId"];
    /**
     * Leave the line
     * @description The ticket turns `left` (a final status keeps its own); its place and any units set aside for it go to the next buyer. With `BUYER_AUTH=jwt`, only for its buyer.
     */
    delete: operations["deleteApiProductsIdQueueTicketId"];
  };
  "/api/products/{id}/queue/{ticket_id}/events": {
    /**
     * Live ticket (Server-Sent Events)
     * @description Event `ticket` with the ticket at once and at every change: a status at once, a position at most once a second; the stream ends after a final status. With `BUYER_AUTH=jwt`, only for its buyer. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
     */
    get: operations["getApiProductsIdQueueTicketIdEvents"];
  };
  "/api/orders": {
    /**
     * Reserve units: the buy button
     * @description 202: the units are reserved and the order is durably queued. A retry with the same `Idempotency-Key` and body answers the same (`Idempotent-Replayed: true`). `user_id` is required for products with a `per_user_limit`; with `BUYER_AUTH=jwt` it must be absent or the token's `sub`, and becomes `sub`. A `queue` or `draw` product needs `Entry-Token`: an idempotent replay is answered first whatever the token; then a missing entry is 403 `ENTRY_REQUIRED`, a forged, expired or another buyer's or product's one 403 `ENTRY_INVALID`, one already used by another order 409 `ENTRY_USED`; an admitted buyer's order of up to `per_entry` units is never `SOLD_OUT`.
     */
    post: operations["postApiOrders"];
  };
  "/api/orders/{id}": {
    /**
     * An order
     * @description Answers as soon as the 202 was sent (`reserved` until the row is written). With `BUYER_AUTH=jwt`, only for its buyer.
     */
    get: operations["getApiOrdersId"];
  };
  "/api/orders/{id}/cancel": {
    /**
     * Give the units back before paying
     * @description Works in every unpaid status, `reserved` included; cancelling a cancelled order answers the same again. With `BUYER_AUTH=jwt`, only for its buyer.
     */
    post: operations["postApiOrdersIdCancel"];
  };
  "/api/orders/{id}/events": {
    /**
     * Live order status (Server-Sent Events)
     * @description Event `order` with the order at once and at every status change; the stream ends after a final status. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
     */
    get: operations["getApiOrdersIdEvents"];
  };
  "/api/payments/webhook": {
    /**
     * The payment provider's signed event
     * @description `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with WEBHOOK_SECRET>`, at most 300 s old. Idempotent on `event_id`.
     */
    post: operations["postApiPaymentsWebhook"];
  };
  "/api/admin/products": {
    /** Put a product on sale */
    post: operations["postApiAdminProducts"];
  };
  "/api/admin/products/{id}/restock": {
    /** Add units */
    post: operations["postApiAdminProductsIdRestock"];
  };
  "/api/admin/products/{id}/queue": {
    /**
     * Pace or pause a product's line
     * @description `admit_per_second` (null: no bound) caps the entries issued per second; `paused` stops new entries (tickets keep their places, entries already issued stay good).
     */
    patch: operations["patchApiAdminProductsIdQueue"];
  };
  "/api/admin/audit": {
    /** Every invariant of the design, per product */
    get: operations["getApiAdminAudit"];
  };
  "/api/admin/dashboard/session": {
    /**
     * Trade the admin token for the dashboard's session cookie
     * @description EventSource cannot send an Authorization header: the dashboard's stream is authorised by a short-lived signed cookie (HttpOnly, SameSite=Strict, Path=/api/admin/dashboard), never by the token in a URL.
     */
    post: operations["postApiAdminDashboardSession"];
    /** Sign the dashboard out: the request's cookie is revoked on every node, and the browser drops it */
    delete: operations["deleteApiAdminDashboardSession"];
  };
  "/api/admin/dashboard/events": {
    /**
     * The dashboard's live data (Server-Sent Events), read through the cluster
     * @description Authorised by the session cookie of POST /api/admin/dashboard/session. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
     */
    get: operations["getApiAdminDashboardEvents"];
  };
  "/api/openapi.json": {
    /** This document */
    get: operations["getApiOpenapiJson"];
  };
  "/docs": {
    /** A readable API reference of this document */
    get: operations["getDocs"];
  };
  "/docs/assets/{file}": {
    /** The reference page's scripts, styles and icon (from the swagger-ui-dist package) */
    get: operations["getDocsAssetsFile"];
  };
  "/": {
    /** The storefront: a product, its live stock, a buy button, the order's live status */
    get: operations["getRoot"];
  };
  "/storefront.css": {
    /** The storefront's style sheet */
    get: operations["getStorefrontCss"];
  };
  "/storefront.js": {
    /** The storefront's script (plain JavaScript, no build) */
    get: operations["getStorefrontJs"];
  };
  "/dashboard": {
    /** The operator's live view (its data needs the admin token) */
    get: operations["getDashboard"];
  };
  "/health": {
    /** Redis, NATS and PostgreSQL, checked for real */
    get: operations["getHealth"];
  };
  "/health/live": {
    /** Liveness: the process can answer */
    get: operations["getHealthLive"];
  };
  "/health/ready": {
    /** Readiness: this node can take orders (Redis and NATS up, not shutting down) */
    get: operations["getHealthReady"];
  };
  "/metrics": {
    /** Prometheus metrics */
    get: operations["getMetrics"];
  };
}

export type webhooks = Record<string, never>;

export interface components {
  schemas: {
    Product: {
      id: number;
      name: string;
      price_cents: number;
      /** @description ISO 4217 */
      currency: string;
      /** @description units put on sale */
      stock_total: number;
      /** @description live, from the inventory shard */
      stock_available: number;
      /** @description ISO-8601 UTC */
      sale_starts_at: string | null;
      /** @description ISO-8601 UTC */
      sale_ends_at: string | null;
      per_user_limit: number | null;
      max_per_order: number;
      /**
       * @description open: first come; queue: a waiting room; draw: a raffle (API.md, Fair access)
       * @enum {string}
       */
      access: "open" | "queue" | "draw";
      /** @description when buyers may join the line (null: open product) */
      queue_opens_at: string | null;
      /** @description how long an admitted buyer has to order */
      entry_ttl_seconds: number;
      /** @description the most entries issued per second (null: as units allow) */
      admit_per_second: number | null;
      /** @description joining needs a solved proof of work */
      challenge: boolean;
      /** @description units one entry lets its buyer order */
      per_entry: number;
    };
    Reservation: {
      /** Format: uuid */
      order_id: string;
      /** @enum {string} */
      status: "reserved";
      product_id: number;
      qty: number;
      user_id: string | null;
      amount_cents: number;
      /** @description when the unpaid reservation is released */
      expires_at: string;
    };
    Order: {
      /** Format: uuid */
      order_id: string;
      /** @enum {string} */
      status: "reserved" | "pending" | "paid" | "cancelled" | "expired" | "rejected";
      product_id: number;
      qty: number;
      user_id: string | null;
      amount_cents: number;
      /** @description ISO-8601 UTC */
      created_at: string;
      /** @description ISO-8601 UTC */
      updated_at: string;
      /** @description ISO-8601 UTC */
      expires_at: string;
    };
    WebhookAnswer: {
      received: boolean;
      /** @enum {string} */
      order_status: "reserved" | "pending" | "paid" | "cancelled" | "expired" | "rejected";
      /** @description money was taken for an order that will not ship */
      refund_required?: boolean;
    };
    Audit: {
      ok: boolean;
      products: {
          id: number;
          stock_total: number;
          available: number;
          reserved: number;
          pending: number;
          paid: number;
          consistent: boolean;
          drift: number;
          failures: {
              invariant: string;
              detail: string;
              by: number;
            }[];
        }[];
      pipeline: {
        drained: boolean;
        in_flight: number;
        dead_letters: number;
      };
    };
    Health: {
      /** @enum {string} */
      status: "ok" | "degraded";
      /** @enum {string} */
      redis: "up" | "down";
      /** @enum {string} */
      nats: "up" | "down";
      /** @enum {string} */
      db: "up" | "down";
    };
    Ticket: {
      /** @description a random secret (128 bits, URL-safe): shown only to the buyer who joined */
      ticket_id: string;
      product_id: number;
      user_id: string;
      /** @enum {string} */
      status: "waiting" | "admitted" | "used" | "expired" | "sold_out" | "lost" | "left";
      /** @description 0, 1, 2, … in the order tickets joined this line */
      join_number: number;
      /** @description `waiting` / `sold_out` once the order is drawn: the place in line, 1 = next (never less than the true place); else null */
      position: number | null;
      /** @description estimated wait from the line's measured pace; null before the draw, while paused, or when unknown */
      eta_seconds: number | null;
      /** @description ISO-8601 UTC */
      joined_at: string;
      /** @description while `admitted`: the `Entry-Token` of the one order this entry allows */
      entry_token: string | null;
      /** @description while `admitted`: place the order before this */
      entry_expires_at: string | null;
    };
    Line: {
      product_id: number;
      /** @enum {string} */
      access: "queue" | "draw";
      /** @description when buyers may join */
      opens_at: string;
      /** @description `sale_starts_at`: when the order of early joiners is drawn */
      draws_at: string;
      /** @description SHA-256 (hex) of the seed, published from the first moment */
      seed_sha256: string;
      /** @description the 32 random bytes (hex) that order the early joiners, once drawn */
      seed: string | null;
      /** @description the keyed permutation of join numbers (README shows how to recompute every place) */
      algorithm: string;
      /** @description tickets that joined before the draw; null until then */
      early_joiners: number | null;
      joined: number;
      admitted: number;
      /** @description tickets now `waiting` or `sold_out` */
      waiting: number;
      /** @description no new entries while paused */
      paused: boolean;
      admit_per_second: number | null;
    };
    Challenge: {
      /** @enum {string} */
      algorithm: "SHA-256";
      /** @description hex SHA-256 of `salt + number` */
      challenge: string;
      /** @description carries the product and the expiry, covered by the signature */
      salt: string;
      signature: string;
      maxnumber: number;
    };
    /**
     * @description `NOT_FOUND`: an unknown path, on every route. `INTERNAL` (500) is never a client's doing: it is a bug.
     * @enum {string}
     */
    ErrorCode: "BAD_REQUEST" | "UNAUTHORIZED" | "INVALID_SIGNATURE" | "FORBIDDEN" | "NOT_FOUND" | "PRODUCT_NOT_FOUND" | "ORDER_NOT_FOUND" | "TICKET_NOT_FOUND" | "ENTRY_REQUIRED" | "ENTRY_INVALID" | "CHALLENGE_FAILED" | "PAYLOAD_TOO_LARGE" | "SOLD_OUT" | "INSUFFICIENT_STOCK" | "SALE_NOT_ACTIVE" | "LIMIT_EXCEEDED" | "ORDER_NOT_CANCELLABLE" | "ENTRY_USED" | "QUEUE_NOT_OPEN" | "QUEUE_CLOSED" | "VALIDATION_ERROR" | "IDEMPOTENCY_KEY_REUSED" | "AMOUNT_MISMATCH" | "RATE_LIMITED" | "UNAVAILABLE" | "INTERNAL";
    Error: {
      error: {
        code: components["schemas"]["ErrorCode"];
        /** @description human readable */
        message: string;
        /** @description e.g. `fields`: the offending fields of a VALIDATION_ERROR */
        details?: Record<string, never>;
      };
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}

export type $defs = Record<string, never>;

export type external = Record<string, never>;

export interface operations {

  /** A product and its live stock */
  getApiProductsId: {
    parameters: {
      path: {
        id: number;
      };
    };
    responses: {
      /** @description the product; `stock_available` is read from the inventory shard */
      200: {
        content: {
          "application/json": components["schemas"]["Product"];
        };
      };
      /** @description `PRODUCT_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Live stock and sale state (Server-Sent Events)
   * @description Event `product` with the product at once and whenever `stock_available` or the sale state changes, coalesced to a few per second. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
   */
  getApiProductsIdEvents: {
    parameters: {
      path: {
        id: number;
      };
    };
    responses: {
      /** @description an event stream of `product` events */
      200: {
        content: {
          "text/event-stream": string;
        };
      };
      /** @description `PRODUCT_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * The product's line: its seed commitment, draw and counts (public, no ticket ids)
   * @description `seed_sha256` is published from the first moment, `seed` once the order is drawn: with `early_joiners` and a join number, anyone recomputes that ticket's place (`algorithm`).
   */
  getApiProductsIdQueue: {
    parameters: {
      path: {
        id: number;
      };
    };
    responses: {
      /** @description the line */
      200: {
        content: {
          "application/json": components["schemas"]["Line"];
        };
      };
      /** @description `PRODUCT_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `QUEUE_NOT_OPEN` */
      409: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "QUEUE_NOT_OPEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Join the product's line (a queue or a draw)
   * @description 201 with a new ticket, or 200 with the buyer's live ticket (`waiting`, `admitted` or `sold_out`): one per buyer and product; a buyer whose ticket ended joins again at the back. With `BUYER_AUTH=none`, `user_id` is required; with `BUYER_AUTH=jwt` the buyer is the token's `sub` and a `user_id` must be absent or equal to it. `challenge`: ALTCHA's base64 payload of a solved challenge, needed when the product's `challenge` is on. Counts against the buyer's and the address's rate limits. The `ticket_id` is the buyer's secret: keep it.
   */
  postApiProductsIdQueue: {
    parameters: {
      path: {
        id: number;
      };
    };
    requestBody: {
      content: {
        "application/json": {
          user_id?: string;
          /** @description ALTCHA's base64 JSON payload of a solved challenge */
          challenge?: string;
        };
      };
    };
    responses: {
      /** @description the buyer's live ticket, as it is */
      200: {
        headers: {
          /** @description /api/products/{id}/queue/{ticket_id} */
          Location?: string;
        };
        content: {
          "application/json": components["schemas"]["Ticket"];
        };
      };
      /** @description joined: a new ticket */
      201: {
        headers: {
          /** @description /api/products/{id}/queue/{ticket_id} */
          Location?: string;
        };
        content: {
          "application/json": components["schemas"]["Ticket"];
        };
      };
      /** @description `BAD_REQUEST` */
      400: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN`, `CHALLENGE_FAILED` */
      403: {
        content: {
          "application/json": ({
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN" | "CHALLENGE_FAILED";
            };
          }) & components["schemas"]["Error"];
        };
      };
      /** @description `PRODUCT_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `QUEUE_NOT_OPEN`, `QUEUE_CLOSED` */
      409: {
        content: {
          "application/json": ({
            error?: {
              /** @enum {string} */
              code?: "QUEUE_NOT_OPEN" | "QUEUE_CLOSED";
            };
          }) & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      413: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      415: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `RATE_LIMITED` */
      429: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "RATE_LIMITED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * A proof-of-work challenge to join the line (when the product's `challenge` is on)
   * @description ALTCHA's SHA-256 challenge: find `number` ≤ `maxnumber` whose hex SHA-256 of `salt + number` is `challenge`; bound to the product, good for 5 minutes, a solution for one join. 404 `NOT_FOUND` when the product's challenge is off.
   */
  getApiProductsIdQueueChallenge: {
    parameters: {
      path: {
        id: number;
      };
    };
    responses: {
      /** @description a challenge */
      200: {
        content: {
          "application/json": components["schemas"]["Challenge"];
        };
      };
      /** @description `PRODUCT_NOT_FOUND`, `NOT_FOUND` */
      404: {
        content: {
          "application/json": ({
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND" | "NOT_FOUND";
            };
          }) & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * A ticket: its status, position and, once admitted, its entry
   * @description With `BUYER_AUTH=jwt`, only for its buyer.
   */
  getApiProductsIdQueueTicketId: {
    parameters: {
      path: {
        id: number;
        ticket_id: string;
      };
    };
    responses: {
      /** @description the ticket */
      200: {
        content: {
          "application/json": components["schemas"]["Ticket"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN` */
      403: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `TICKET_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "TICKET_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Leave the line
   * @description The ticket turns `left` (a final status keeps its own); its place and any units set aside for it go to the next buyer. With `BUYER_AUTH=jwt`, only for its buyer.
   */
  deleteApiProductsIdQueueTicketId: {
    parameters: {
      path: {
        id: number;
        ticket_id: string;
      };
    };
    responses: {
      /** @description the ticket, now `left` */
      200: {
        content: {
          "application/json": components["schemas"]["Ticket"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN` */
      403: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `TICKET_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "TICKET_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Live ticket (Server-Sent Events)
   * @description Event `ticket` with the ticket at once and at every change: a status at once, a position at most once a second; the stream ends after a final status. With `BUYER_AUTH=jwt`, only for its buyer. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
   */
  getApiProductsIdQueueTicketIdEvents: {
    parameters: {
      path: {
        id: number;
        ticket_id: string;
      };
    };
    responses: {
      /** @description an event stream of `ticket` events */
      200: {
        content: {
          "text/event-stream": string;
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN` */
      403: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `TICKET_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "TICKET_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Reserve units: the buy button
   * @description 202: the units are reserved and the order is durably queued. A retry with the same `Idempotency-Key` and body answers the same (`Idempotent-Replayed: true`). `user_id` is required for products with a `per_user_limit`; with `BUYER_AUTH=jwt` it must be absent or the token's `sub`, and becomes `sub`. A `queue` or `draw` product needs `Entry-Token`: an idempotent replay is answered first whatever the token; then a missing entry is 403 `ENTRY_REQUIRED`, a forged, expired or another buyer's or product's one 403 `ENTRY_INVALID`, one already used by another order 409 `ENTRY_USED`; an admitted buyer's order of up to `per_entry` units is never `SOLD_OUT`.
   */
  postApiOrders: {
    parameters: {
      header?: {
        /** @description 1..128 printable ASCII characters; remembered for at least 24 hours */
        "Idempotency-Key"?: string;
        /** @description the `entry_token` of the buyer's admitted ticket (a `queue` or `draw` product): good for one order, until `entry_expires_at` */
        "Entry-Token"?: string;
      };
    };
    requestBody: {
      content: {
        "application/json": {
          product_id: number;
          qty: number;
          user_id?: string;
        };
      };
    };
    responses: {
      /** @description reserved */
      202: {
        headers: {
          /** @description /api/orders/{order_id} */
          Location?: string;
          /** @description `true` on a replay */
          "Idempotent-Replayed"?: string;
        };
        content: {
          "application/json": components["schemas"]["Reservation"];
        };
      };
      /** @description `BAD_REQUEST` */
      400: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN`, `ENTRY_REQUIRED`, `ENTRY_INVALID` */
      403: {
        content: {
          "application/json": ({
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN" | "ENTRY_REQUIRED" | "ENTRY_INVALID";
            };
          }) & components["schemas"]["Error"];
        };
      };
      /** @description `PRODUCT_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `SOLD_OUT`, `INSUFFICIENT_STOCK`, `SALE_NOT_ACTIVE`, `LIMIT_EXCEEDED`, `ENTRY_USED` */
      409: {
        content: {
          "application/json": ({
            error?: {
              /** @enum {string} */
              code?: "SOLD_OUT" | "INSUFFICIENT_STOCK" | "SALE_NOT_ACTIVE" | "LIMIT_EXCEEDED" | "ENTRY_USED";
            };
          }) & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      413: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      415: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR`, `IDEMPOTENCY_KEY_REUSED` */
      422: {
        content: {
          "application/json": ({
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR" | "IDEMPOTENCY_KEY_REUSED";
            };
          }) & components["schemas"]["Error"];
        };
      };
      /** @description `RATE_LIMITED` */
      429: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "RATE_LIMITED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * An order
   * @description Answers as soon as the 202 was sent (`reserved` until the row is written). With `BUYER_AUTH=jwt`, only for its buyer.
   */
  getApiOrdersId: {
    parameters: {
      path: {
        id: string;
      };
    };
    responses: {
      /** @description the order */
      200: {
        content: {
          "application/json": components["schemas"]["Order"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN` */
      403: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `ORDER_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "ORDER_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Give the units back before paying
   * @description Works in every unpaid status, `reserved` included; cancelling a cancelled order answers the same again. With `BUYER_AUTH=jwt`, only for its buyer.
   */
  postApiOrdersIdCancel: {
    parameters: {
      path: {
        id: string;
      };
    };
    responses: {
      /** @description the order, `cancelled` */
      200: {
        content: {
          "application/json": components["schemas"]["Order"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN` */
      403: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `ORDER_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "ORDER_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `ORDER_NOT_CANCELLABLE` */
      409: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "ORDER_NOT_CANCELLABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `RATE_LIMITED` */
      429: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "RATE_LIMITED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Live order status (Server-Sent Events)
   * @description Event `order` with the order at once and at every status change; the stream ends after a final status. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
   */
  getApiOrdersIdEvents: {
    parameters: {
      path: {
        id: string;
      };
    };
    responses: {
      /** @description an event stream of `order` events */
      200: {
        content: {
          "text/event-stream": string;
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `FORBIDDEN` */
      403: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "FORBIDDEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `ORDER_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "ORDER_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * The payment provider's signed event
   * @description `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with WEBHOOK_SECRET>`, at most 300 s old. Idempotent on `event_id`.
   */
  postApiPaymentsWebhook: {
    requestBody: {
      content: {
        "application/json": {
          event_id: string;
          /** Format: uuid */
          order_id: string;
          /** @enum {string} */
          status: "succeeded" | "failed";
          amount_cents: number;
        };
      };
    };
    responses: {
      /** @description applied (or already applied: the same answer again) */
      200: {
        content: {
          "application/json": components["schemas"]["WebhookAnswer"];
        };
      };
      /** @description the order is not persisted yet: stored, applied when its row is written */
      202: {
        content: {
          "application/json": components["schemas"]["WebhookAnswer"];
        };
      };
      /** @description `BAD_REQUEST` */
      400: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `INVALID_SIGNATURE` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "INVALID_SIGNATURE";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `ORDER_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "ORDER_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      413: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      415: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR`, `AMOUNT_MISMATCH` */
      422: {
        content: {
          "application/json": ({
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR" | "AMOUNT_MISMATCH";
            };
          }) & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** Put a product on sale */
  postApiAdminProducts: {
    requestBody: {
      content: {
        "application/json": {
          name: string;
          price_cents: number;
          stock: number;
          currency?: string;
          /**
           * Format: date-time
           * @description an ISO-8601 date-time with Z or an offset (e.g. 2026-12-24T18:00:00Z), years 2000..9999
           */
          sale_starts_at?: string | null;
          /**
           * Format: date-time
           * @description an ISO-8601 date-time with Z or an offset (e.g. 2026-12-24T18:00:00Z), years 2000..9999, after sale_starts_at
           */
          sale_ends_at?: string | null;
          per_user_limit?: number | null;
          max_per_order?: number;
          /** @enum {string} */
          access?: "open" | "queue" | "draw";
          /**
           * Format: date-time
           * @description an ISO-8601 date-time with Z or an offset (e.g. 2026-12-24T18:00:00Z), years 2000..9999
           */
          queue_opens_at?: string | null;
          entry_ttl_seconds?: number;
          admit_per_second?: number | null;
          challenge?: boolean;
        };
      };
    };
    responses: {
      /** @description the product, on sale at once */
      201: {
        headers: {
          /** @description /api/products/{id} */
          Location?: string;
        };
        content: {
          "application/json": components["schemas"]["Product"];
        };
      };
      /** @description `BAD_REQUEST` */
      400: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      413: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      415: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** Add units */
  postApiAdminProductsIdRestock: {
    parameters: {
      path: {
        id: number;
      };
    };
    requestBody: {
      content: {
        "application/json": {
          add: number;
        };
      };
    };
    responses: {
      /** @description the product */
      200: {
        content: {
          "application/json": components["schemas"]["Product"];
        };
      };
      /** @description `BAD_REQUEST` */
      400: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `PRODUCT_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      413: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      415: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Pace or pause a product's line
   * @description `admit_per_second` (null: no bound) caps the entries issued per second; `paused` stops new entries (tickets keep their places, entries already issued stay good).
   */
  patchApiAdminProductsIdQueue: {
    parameters: {
      path: {
        id: number;
      };
    };
    requestBody: {
      content: {
        "application/json": {
          admit_per_second?: number | null;
          paused?: boolean;
        };
      };
    };
    responses: {
      /** @description the line */
      200: {
        content: {
          "application/json": components["schemas"]["Line"];
        };
      };
      /** @description `BAD_REQUEST` */
      400: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `PRODUCT_NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "PRODUCT_NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `QUEUE_NOT_OPEN` */
      409: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "QUEUE_NOT_OPEN";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      413: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `BAD_REQUEST` */
      415: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "BAD_REQUEST";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `VALIDATION_ERROR` */
      422: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "VALIDATION_ERROR";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** Every invariant of the design, per product */
  getApiAdminAudit: {
    responses: {
      /** @description `ok` is false when any invariant fails or messages were dead-lettered */
      200: {
        content: {
          "application/json": components["schemas"]["Audit"];
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * Trade the admin token for the dashboard's session cookie
   * @description EventSource cannot send an Authorization header: the dashboard's stream is authorised by a short-lived signed cookie (HttpOnly, SameSite=Strict, Path=/api/admin/dashboard), never by the token in a URL.
   */
  postApiAdminDashboardSession: {
    responses: {
      /** @description the cookie is set (`Set-Cookie`); `expires_at` is when it lapses */
      200: {
        headers: {
          /** @description flash_dashboard=<expiry>.<signature> */
          "Set-Cookie"?: string;
        };
        content: {
          "application/json": {
            /** Format: date-time */
            expires_at: string;
          };
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** Sign the dashboard out: the request's cookie is revoked on every node, and the browser drops it */
  deleteApiAdminDashboardSession: {
    responses: {
      /** @description the cookie is revoked and cleared */
      204: {
        content: never;
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /**
   * The dashboard's live data (Server-Sent Events), read through the cluster
   * @description Authorised by the session cookie of POST /api/admin/dashboard/session. `text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.
   */
  getApiAdminDashboardEvents: {
    responses: {
      /** @description an event stream of dashboard snapshots */
      200: {
        content: {
          "text/event-stream": string;
        };
      };
      /** @description `UNAUTHORIZED` */
      401: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAUTHORIZED";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** This document */
  getApiOpenapiJson: {
    responses: {
      /** @description OpenAPI 3.1 */
      200: {
        content: {
          "application/json": Record<string, never>;
        };
      };
    };
  };
  /** A readable API reference of this document */
  getDocs: {
    responses: {
      /** @description an HTML page (its scripts and styles are served from here, no CDN) */
      200: {
        content: {
          "text/html": string;
        };
      };
    };
  };
  /** The reference page's scripts, styles and icon (from the swagger-ui-dist package) */
  getDocsAssetsFile: {
    parameters: {
      path: {
        file: string;
      };
    };
    responses: {
      /** @description the file (JavaScript, CSS or PNG) */
      200: {
        content: {
          "application/octet-stream": string;
        };
      };
      /** @description `NOT_FOUND` */
      404: {
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "NOT_FOUND";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** The storefront: a product, its live stock, a buy button, the order's live status */
  getRoot: {
    responses: {
      /** @description an HTML page */
      200: {
        content: {
          "text/html": string;
        };
      };
    };
  };
  /** The storefront's style sheet */
  getStorefrontCss: {
    responses: {
      /** @description CSS */
      200: {
        content: {
          "text/css": string;
        };
      };
    };
  };
  /** The storefront's script (plain JavaScript, no build) */
  getStorefrontJs: {
    responses: {
      /** @description JavaScript */
      200: {
        content: {
          "text/javascript": string;
        };
      };
    };
  };
  /** The operator's live view (its data needs the admin token) */
  getDashboard: {
    responses: {
      /** @description an HTML page */
      200: {
        content: {
          "text/html": string;
        };
      };
    };
  };
  /** Redis, NATS and PostgreSQL, checked for real */
  getHealth: {
    responses: {
      /** @description all up */
      200: {
        content: {
          "application/json": components["schemas"]["Health"];
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** Liveness: the process can answer */
  getHealthLive: {
    responses: {
      /** @description alive */
      200: {
        content: {
          "application/json": Record<string, never>;
        };
      };
    };
  };
  /** Readiness: this node can take orders (Redis and NATS up, not shutting down) */
  getHealthReady: {
    responses: {
      /** @description ready */
      200: {
        content: {
          "application/json": Record<string, never>;
        };
      };
      /** @description `UNAVAILABLE` */
      503: {
        headers: {
          /** @description seconds */
          "Retry-After"?: number;
        };
        content: {
          "application/json": {
            error?: {
              /** @enum {string} */
              code?: "UNAVAILABLE";
            };
          } & components["schemas"]["Error"];
        };
      };
    };
  };
  /** Prometheus metrics */
  getMetrics: {
    responses: {
      /** @description Prometheus text format */
      200: {
        content: {
          "text/plain": string;
        };
      };
    };
  };
}
