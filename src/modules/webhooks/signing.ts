/**
 * Webhook signatures in the Standard Webhooks form (standardwebhooks.com), so receivers can check
 * them with that project's libraries: a secret `whsec_<base64 of 32 random bytes>`, and on every
 * delivery the headers `webhook-id` (the event's id, the same on every retry: an idempotency key),
 * `webhook-timestamp` (Unix seconds, for the receiver's replay window) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 over "id.timestamp.body">`).
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

export function newWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

export function signatureHeaders(secret: string, eventId: string, at: Date, body: string): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${eventId}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': eventId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
