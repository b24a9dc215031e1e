/**
 * Dashboard sessions end after SESSION_IDLE_MINUTES without use (12 hours by default), whatever
 * their lifetime; a session in use stays. API keys are not sessions and are unaffected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../src/platform/clock.ts';
import { signUp, startTestApp, strongPassword, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
const IDLE_MINUTES = 60;
const minutes = (n: number): number => n * 60_000;

before(async () => {
  t = await startTestApp({ clock, config: { sessionIdleMinutes: IDLE_MINUTES } });
});
after(() => t.close());

/** Until the best-effort record of the last use has landed (it is written off the request's path). */
async function lastSeenReaches(sessionOwner: string, at: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const row = await t.database.db.selectFrom('sessions').select('last_seen_at').where('user_id', '=', sessionOwner).executeTakeFirst();
    if (row && new Date(row.last_seen_at).getTime() >= at) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('the last use was not recorded');
}

describe('idle sessions', () => {
  it('a session never ends before the idle limit, even though its last use is recorded every 5 minutes at most', async () => {
    offsetMs = 0;
    const user = await signUp(t, 'Boundary');
    offsetMs = minutes(4); // used again, but too soon after sign-up to be recorded
    assert.equal((await user.client.get('/v1/me')).status, 200);
    offsetMs = minutes(4 + IDLE_MINUTES - 1); // idle one minute less than the limit since that use
    assert.equal((await user.client.get('/v1/me')).status, 200);
    offsetMs = 0;
  });

  it('a session unused for longer than the idle limit has ended; one in use stays; API keys are unaffected', async () => {
    offsetMs = 0;
    const active = await signUp(t, 'Active');
    const idle = await signUp(t, 'Idle');
    const key = await active.client.post(`/v1/orgs/${active.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    const projects = `/v1/orgs/${active.orgId}/projects`;

    // Just inside the limit both work; the active one is used, which records its use.
    offsetMs = minutes(IDLE_MINUTES - 5);
    assert.equal((await active.client.get(projects)).status, 200);
    await lastSeenReaches(active.userId, Date.now() + offsetMs - 1000);

    // Past the limit and the 5.5 minutes it allows for the recorded use trailing the real one, for
    // the idle one (not used since sign-up); within it for the active one.
    offsetMs = minutes(IDLE_MINUTES + 10);
    const ended = await idle.client.get('/v1/me');
    assert.equal(ended.status, 401);
    assert.equal(ended.body.code, 'unauthenticated');
    assert.equal((await active.client.get(projects)).status, 200);
    const listed = await active.client.get('/v1/auth/sessions');
    assert.equal(listed.body.sessions.length, 1, 'an idle session is not listed as active');
    assert.equal((await t.client().get(projects, { authorization: `Bearer ${key.body.secret}` })).status, 200, 'API keys are not sessions');

    // And once the active one (its use just recorded again) is left alone past the limit, it ends too.
    await lastSeenReaches(active.userId, Date.now() + offsetMs - 1000);
    offsetMs += minutes(IDLE_MINUTES + 10);
    assert.equal((await active.client.get(projects)).status, 401);
    offsetMs = 0;
  });

  it('the limit is configurable within bounds', async () => {
    const { loadConfig } = await import('../src/config.ts');
    assert.equal(loadConfig({}).sessionIdleMinutes, 720);
    assert.equal(loadConfig({ SESSION_IDLE_MINUTES: '30' }).sessionIdleMinutes, 30);
    assert.throws(() => loadConfig({ SESSION_IDLE_MINUTES: '5' }));
  });
});

describe('revoking sessions', () => {
  it('counts (and audits) only the sessions that still worked: an idle one is no session to cut off', async () => {
    offsetMs = 0;
    const user = await signUp(t, 'Counting');
    // Signed in again elsewhere, then left idle past the limit.
    const other = t.client();
    assert.equal((await other.post('/v1/auth/login', { email: user.email, password: strongPassword })).status, 200);
    // The first session is used in the meantime (and stays), the second is not.
    offsetMs = minutes(30);
    assert.equal((await user.client.get('/v1/me')).status, 200);
    for (let i = 0; i < 100; i++) {
      const seen = await t.database.db.selectFrom('sessions').select((eb) => eb.fn.max('last_seen_at').as('at')).where('user_id', '=', user.userId).executeTakeFirst();
      if (seen?.at && new Date(seen.at).getTime() >= Date.now() + offsetMs - 60_000) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    offsetMs = minutes(30 + IDLE_MINUTES - 5);
    const r = await user.client.delete('/v1/auth/sessions');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.revoked, 0, 'the other session had been idle for longer than the limit');
    const log = (await user.client.get(`/v1/orgs/${user.orgId}/audit-log?action=user.sessions_revoked`)).body.entries;
    assert.equal(log.length, 0, 'nothing cut off, nothing recorded');
    offsetMs = 0;
  });
});
