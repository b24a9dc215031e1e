/**
 * Limits: a project's `rateLimits` settings, and the fixed limits that are not per project.
 * Login attempts are limited by accounts/login-throttle.ts (failures per account and per IP).
 */
import { z } from 'zod';

export const rateLimitSettingsSchema = z.strictObject({
  perIpPerMinute: z.int().min(1).max(10_000).default(30),
  perSessionPerHour: z.int().min(1).max(100_000).default(200),
  messagesPerHour: z.int().min(1).max(1_000_000).default(2_000),
});

export type RateLimitSettings = z.output<typeof rateLimitSettingsSchema>;

export const defaultRateLimits: RateLimitSettings = Object.freeze(rateLimitSettingsSchema.parse({}));

/** Messages per hour across all of an organisation's projects, whatever the projects say. */
export const orgCeilingPerHour = 20_000;

/** Messages per API key per minute (on top of the key's general request limit). */
export const defaultApiKeyMessagesPerMinute = 120;

/** Any API request made with a key. */
export const defaultApiKeyRequestsPerMinute = 600;
