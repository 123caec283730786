/**
 * What payments.webhook answers the gateway: the HTTP status and the body to send the
 * payment provider (the published WebhookAnswer, or an error envelope that is the
 * outcome of a recorded event, e.g. AMOUNT_MISMATCH).
 */
export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
}
