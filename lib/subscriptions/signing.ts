import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** A new endpoint secret: `whsec_` + 32 random bytes in base64, as Standard Webhooks libraries expect. */
export function newEndpointSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/**
 * The Standard Webhooks headers for one attempt, signed by the `standardwebhooks` library with
 * every secret given (the current one, and during a rotation's overlap the previous one):
 * `webhook-signature` is their space-separated `v1,<base64>` list, so a receiver holding
 * either secret verifies it.
 */
export function signedHeaders(
  eventId: string,
  body: string,
  secrets: string[],
  at: Date = new Date(),
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  return {
    "webhook-id": eventId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets
      .map((secret) => new Webhook(secret).sign(eventId, at, body))
      .join(" "),
  };
}
