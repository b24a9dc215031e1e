/**
 * Shutting down: a request that reaches the server while it closes (here, while a preClose hook
 * is still running) is refused with 503 problem+json that carries the security headers.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startCustomApp } from './helpers/custom-app.ts';

it('refuses requests arriving during shutdown with 503 problem+json and the security headers', async () => {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let closingStarted = (): void => undefined;
  const closing = new Promise<void>((resolve) => (closingStarted = resolve));
  const t = await startCustomApp({
    routes: (app) => {
      app.addHook('preClose', async () => {
        closingStarted();
        await held;
      });
    },
  });
  const before = await fetch(`${t.url}/healthz`);
  assert.equal(before.status, 200);
  const closed = t.close();
  await closing;
  try {
    const r = await fetch(`${t.url}/healthz`);
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('connection'), 'close');
    assert.equal(((await r.json()) as { code: string }).code, 'unavailable');
  } finally {
    release();
    await closed;
  }
});
