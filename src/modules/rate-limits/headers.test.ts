import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../platform/http/errors.ts';
import { rateLimitHeaders, rateLimitedError } from './headers.ts';
import { defaultRateLimits, rateLimitSettingsSchema } from './policy.ts';

test('admitted requests get RateLimit headers without Retry-After', () => {
  assert.deepEqual(rateLimitHeaders({ ok: true, limit: 30, remaining: 12, resetSeconds: 41 }), {
    'RateLimit-Limit': '30',
    'RateLimit-Remaining': '12',
    'RateLimit-Reset': '41',
  });
});

test('a refusal is a 429 rate_limited AppError carrying Retry-After', () => {
  const error = rateLimitedError({ ok: false, limit: 30, remaining: 0, resetSeconds: 41, retryAfterSeconds: 41 });
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.status, 429);
  assert.equal(error.headers?.['Retry-After'], '41');
  assert.equal(error.headers?.['RateLimit-Remaining'], '0');
  assert.match(error.message, /41 seconds/);
  const blocked = rateLimitedError({ ok: false, limit: 30, remaining: 0, resetSeconds: 600, retryAfterSeconds: 600, blocked: true });
  assert.match(blocked.message, /blocked for 600 seconds/);
});

test('rateLimits settings: defaults, bounds, unknown keys refused', () => {
  assert.deepEqual(defaultRateLimits, { perIpPerMinute: 30, perSessionPerHour: 200, messagesPerHour: 2000 });
  assert.deepEqual(rateLimitSettingsSchema.parse({ perIpPerMinute: 5 }), { ...defaultRateLimits, perIpPerMinute: 5 });
  for (const bad of [{ perIpPerMinute: 0 }, { perIpPerMinute: 1.5 }, { messagesPerHour: 1e9 }, { perIpPerMinute: '5' }, { burst: 1 }]) {
    assert.equal(rateLimitSettingsSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
