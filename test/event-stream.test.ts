/**
 * GET /v1/orgs/{orgId}/events/stream: the organisation's audited events as server-sent events,
 * resumable with Last-Event-ID, only its own, and ended when the caller's key is revoked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { memberWithRole, signUp, startTestApp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp({ eventStream: { pollMs: 50, recheckMs: 200, maxPerOrg: 2 } });
});
after(() => t.close());

interface Sse {
  events: Array<{ id?: string; event?: string; data?: any }>;
  ended: Promise<void>;
  close(): void;
}

async function open(path: string, headers: Record<string, string>, on: TestApp = t): Promise<{ status: number; body?: any; sse?: Sse; headers?: Headers }> {
  const controller = new AbortController();
  const res = await fetch(on.url + path, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (res.status !== 200) return { status: res.status, body: await res.json(), headers: res.headers };
  const events: Sse['events'] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: Sse['events'][number] = {};
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) e.id = line.slice(4);
            else if (line.startsWith('event: ')) e.event = line.slice(7);
            else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
          }
          if (e.event) events.push(e);
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return { status: 200, sse: { events, ended, close: () => controller.abort() } };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('event stream', () => {
  it('a server closing ends its open streams (it does not wait for them)', async () => {
    const own = await startTestApp({ eventStream: { pollMs: 50 } });
    const owner = await signUp(own, 'Closing');
    const res = await fetch(`${own.url}/v1/orgs/${owner.orgId}/events/stream`, {
      headers: { accept: 'text/event-stream', cookie: [...owner.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    assert.equal(res.status, 200);
    const reading = res.text().catch(() => '');
    const started = Date.now();
    await own.close();
    assert.ok(Date.now() - started < 3000, `closed in ${Date.now() - started} ms`);
    assert.match(await reading, /: connected/);
  });

  it('streams the organisation\'s audited events, without IP addresses; resumes from Last-Event-ID; only its own', async () => {
    const owner = await signUp(t, 'Streaming');
    const other = await signUp(t, 'Other');
    const cookie = [...owner.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const opened = await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie });
    assert.equal(opened.status, 200);
    const sse = opened.sse!;
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    await other.client.post(`/v1/orgs/${other.orgId}/projects`, { name: 'theirs' });
    await until(() => sse.events.some((e) => e.event === 'project.created'), 'project.created');
    const created = sse.events.find((e) => e.event === 'project.created')!;
    assert.equal(created.data.target.id, p.body.project.id);
    assert.equal(created.id, created.data.id);
    assert.match(created.id ?? '', /^aud_/);
    assert.equal(JSON.stringify(sse.events).includes('127.0.0.1'), false);
    assert.equal(sse.events.some((e) => e.data?.orgId === other.orgId), false);
    sse.close();

    // Missed while disconnected — for longer than the look-back: sent on reconnection after the last event seen.
    await owner.client.patch(`/v1/orgs/${owner.orgId}`, { name: 'Renamed' });
    await t.database.db.updateTable('audit_log').set({ created_at: new Date(Date.now() - 10 * 60_000) }).where('id', '=', created.id!).execute();
    await t.database.db.updateTable('audit_log').set({ created_at: new Date(Date.now() - 5 * 60_000) }).where('org_id', '=', owner.orgId).where('action', '=', 'org.updated').execute();
    const again = await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie, 'last-event-id': created.id! });
    await until(() => again.sse!.events.some((e) => e.event === 'org.updated'), 'org.updated after resuming');
    assert.equal(again.sse!.events.some((e) => e.id === created.id), false, 'not the one it already had');
    again.sse!.close();

    assert.equal((await open(`/v1/orgs/${owner.orgId}/events/stream`, {})).status, 401);
    const outsider = await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie: [...other.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') });
    assert.equal(outsider.status, 404);
  });

  it('ends when the API key is revoked; needs audit:read; a few per organisation', async () => {
    const owner = await signUp(t, 'Revoking');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'siem', scopes: ['audit:read'] });
    const weak = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    assert.equal((await open(`/v1/orgs/${owner.orgId}/events/stream`, { authorization: `Bearer ${weak.body.secret}` })).status, 403);
    const first = await open(`/v1/orgs/${owner.orgId}/events/stream`, { authorization: `Bearer ${key.body.secret}` });
    const second = await open(`/v1/orgs/${owner.orgId}/events/stream`, { authorization: `Bearer ${key.body.secret}` });
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const third = await open(`/v1/orgs/${owner.orgId}/events/stream`, { authorization: `Bearer ${key.body.secret}` });
    assert.equal(third.status, 429);
    second.sse!.close();
    await until(() => true, '');
    assert.equal((await owner.client.delete(`/v1/api-keys/${key.body.apiKey.id}`)).status, 204);
    await until(() => first.sse!.events.some((e) => e.event === 'error'), 'the stream to end');
    assert.equal(first.sse!.events.at(-1)?.data.code, 'invalid_api_key');
    await first.sse!.ended;
  });
});

describe('event stream, per caller', () => {
  it('one person cannot take the slots of many organisations of their own: the per-organisation cap holds per caller too', async () => {
    const owner = await signUp(t, 'Many Orgs');
    const second = await owner.client.post('/v1/orgs', { name: 'Second of many' });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const secondId = second.body.org.id as string;
    const cookie = [...owner.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const a = await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie });
    const b = await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie });
    assert.deepEqual([a.status, b.status], [200, 200]);
    const elsewhere = await open(`/v1/orgs/${secondId}/events/stream`, { cookie });
    assert.deepEqual([elsewhere.status, elsewhere.body?.code], [429, 'rate_limited']);
    a.sse!.close();
    await a.sse!.ended;
    await until(() => true, '');
    await new Promise((r) => setTimeout(r, 50));
    const now = await open(`/v1/orgs/${secondId}/events/stream`, { cookie });
    assert.equal(now.status, 200, 'a slot of theirs given back');
    b.sse!.close();
    now.sse!.close();
  });
});

describe('event stream, per person behind keys', () => {
  it("keys count against the person who made them, through keys that keys made: one person's many keys cannot take the instance's slots", async () => {
    const owner = await signUp(t, 'Key Streams');
    const [second, third] = await Promise.all(['Key Streams Two', 'Key Streams Three'].map(async (name) => (await owner.client.post('/v1/orgs', { name })).body.org.id as string));
    const key = async (orgId: string, scopes: string[], by = owner.client) => (await by.post(`/v1/orgs/${orgId}/api-keys`, { name: 'siem', scopes })).body.secret as string;
    const manager = t.client();
    manager.bearer = await key(second as string, ['keys:manage', 'audit:read']);
    const first = await open(`/v1/orgs/${owner.orgId}/events/stream`, { authorization: `Bearer ${await key(owner.orgId, ['audit:read'])}` });
    const madeByAKey = await open(`/v1/orgs/${second}/events/stream`, { authorization: `Bearer ${await key(second as string, ['audit:read'], manager)}` });
    assert.deepEqual([first.status, madeByAKey.status], [200, 200]);
    const more = await open(`/v1/orgs/${third}/events/stream`, { authorization: `Bearer ${await key(third as string, ['audit:read'])}` });
    assert.deepEqual([more.status, more.body?.code], [429, 'rate_limited'], "one person's third stream (the cap is 2 here), by yet another key in yet another organisation");
    for (const o of [first, madeByAKey]) o.sse?.close();
    for (const o of [first, madeByAKey]) await o.sse?.ended;
  });
});

describe('event stream, checking its caller again', () => {
  it('is not a new request: an open stream counts one key request, however often it is checked', async () => {
    const owner = await signUp(t, 'Quiet Watcher');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'siem', scopes: ['audit:read'] });
    const byKey = await open(`/v1/orgs/${owner.orgId}/events/stream`, { authorization: `Bearer ${key.body.secret}` });
    const cookie = [...owner.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const bySession = await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie });
    assert.deepEqual([byKey.status, bySession.status], [200, 200]);
    // Several checks (every 200 ms here) pass while both are open.
    await new Promise((r) => setTimeout(r, 1000));
    byKey.sse!.close();
    bySession.sse!.close();
    const usage = (await owner.client.get(`/v1/api-keys/${key.body.apiKey.id}/usage`)).body.usage;
    const counted = usage.days.flatMap((d: { routes: { route: string; count: number }[] }) => d.routes).filter((r: { route: string }) => r.route.endsWith('/events/stream'));
    assert.deepEqual(counted.map((r: { count: number }) => r.count), [1], 'one request, however often it was checked');
  });
});

describe('event stream, busy', () => {
  it('an entry that commits late is found even when the look-back window holds more than a page of sent ones', async () => {
    const owner = await signUp(t, 'Busy');
    const cookie = [...owner.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const stream = (await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie })).sse!;
    const row = (id: string, at: Date) => ({ id, org_id: owner.orgId, actor_type: 'system', action: 'test.bulk', metadata: '{}', created_at: at });
    const burstAt = new Date(Date.now() + 2000);
    await t.database.db.insertInto('audit_log').values(Array.from({ length: 600 }, (_, i) => row(`aud_bulk${String(i).padStart(4, '0')}`, burstAt))).execute();
    await until(() => stream.events.filter((e) => e.event === 'test.bulk').length === 600, 'the burst');
    // Ordered behind the first 500 of the burst but before the stream's cursor (its last entry):
    // as if its transaction had begun with theirs and committed after.
    await t.database.db.insertInto('audit_log').values(row('aud_bulk0550x', burstAt)).execute();
    await until(() => stream.events.some((e) => e.id === 'aud_bulk0550x'), 'the late entry');
    stream.close();
  });

  it('an entry that commits late is found when the look-back window holds more than a page of entries from before the stream began', async () => {
    const owner = await signUp(t, 'Busy Before');
    const row = (id: string, at: Date) => ({ id, org_id: owner.orgId, actor_type: 'system', action: 'test.before', metadata: '{}', created_at: at });
    // A busy minute before the stream opens: never sent to it, and more than a page.
    const before = new Date(Date.now() - 20_000);
    await t.database.db.insertInto('audit_log').values(Array.from({ length: 600 }, (_, i) => row(`aud_pre${String(i).padStart(4, '0')}`, before))).execute();
    const cookie = [...owner.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const stream = (await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie })).sse!;
    const afterStart = new Date(Date.now() + 1000);
    await t.database.db.insertInto('audit_log').values(row('aud_post2', new Date(afterStart.getTime() + 1000))).execute();
    await until(() => stream.events.some((e) => e.id === 'aud_post2'), 'the entry after the start');
    // Dated before the cursor (as if its transaction began earlier and committed now).
    await t.database.db.insertInto('audit_log').values(row('aud_post1', afterStart)).execute();
    await until(() => stream.events.some((e) => e.id === 'aud_post1'), 'the late entry');
    assert.equal(stream.events.some((e) => String(e.id).startsWith('aud_pre')), false, 'nothing from before the start');
    stream.close();
  });
});

describe('event stream, to the microsecond', () => {
  it('an entry dated to the microsecond is sent once, and not again to a client resuming after it', async () => {
    const owner = await signUp(t, 'Microseconds');
    const cookie = [...owner.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const stream = (await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie })).sse!;
    // PostgreSQL keeps microseconds, a Date only milliseconds.
    await sql`INSERT INTO audit_log (id, org_id, actor_type, action, metadata, created_at)
      VALUES ('aud_micro1', ${owner.orgId}, 'system', 'test.micro', '{}', now() + interval '456 microseconds')`.execute(t.database.db);
    await until(() => stream.events.some((e) => e.id === 'aud_micro1'), 'the entry');
    await new Promise((r) => setTimeout(r, 500)); // ten polls
    stream.close();
    assert.equal(stream.events.filter((e) => e.id === 'aud_micro1').length, 1, 'sent once');
    const resumed = (await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie, 'last-event-id': 'aud_micro1' })).sse!;
    await new Promise((r) => setTimeout(r, 500));
    resumed.close();
    assert.equal(resumed.events.some((e) => e.id === 'aud_micro1'), false, 'not again after resuming from it');
  });
});

describe('event stream, ended at once', () => {
  it('a revoked key, a removed member: the stream ends at once, not at the next periodic check', async () => {
    const slow = await startTestApp({ eventStream: { pollMs: 50, recheckMs: 600_000 } });
    try {
      const owner = await signUp(slow, 'Prompt');
      const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'siem', scopes: ['audit:read'] });
      const byKey = await open(`/v1/orgs/${owner.orgId}/events/stream`, { authorization: `Bearer ${key.body.secret}` }, slow);
      const admin = await memberWithRole(slow, owner.client, owner.orgId, 'admin');
      const byAdmin = await open(`/v1/orgs/${owner.orgId}/events/stream`, { cookie: [...admin.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }, slow);
      assert.equal(byKey.status, 200);
      assert.equal(byAdmin.status, 200);
      const started = Date.now();
      assert.equal((await owner.client.delete(`/v1/api-keys/${key.body.apiKey.id}`)).status, 204);
      await until(() => byKey.sse!.events.some((e) => e.event === 'error'), 'the key\'s stream to end');
      assert.equal(byKey.sse!.events.at(-1)?.data.code, 'invalid_api_key');
      assert.equal((await owner.client.delete(`/v1/orgs/${owner.orgId}/members/${admin.userId}`)).status, 204);
      await until(() => byAdmin.sse!.events.some((e) => e.event === 'error'), 'the removed member\'s stream to end');
      assert.equal(byAdmin.sse!.events.at(-1)?.data.code, 'not_found');
      assert.ok(Date.now() - started < 5000);
    } finally {
      await slow.close();
    }
  });
});

describe('event stream, per client address', () => {
  it('one address cannot take the slots with many accounts of its own (sign-up is open)', async () => {
    const app = await startTestApp({ eventStream: { pollMs: 50, maxPerAddress: 2 }, config: { trustProxy: true } });
    try {
      const streams = [];
      const from = (ip: string, who: { apiKey: string }) => ({ authorization: `Bearer ${who.apiKey}`, 'x-forwarded-for': ip });
      const accounts = [];
      for (const name of ['One', 'Two', 'Three']) {
        const o = await signUp(app, `Address ${name}`);
        const key = await o.client.post(`/v1/orgs/${o.orgId}/api-keys`, { name: 'siem', scopes: ['audit:read'] });
        accounts.push({ orgId: o.orgId, apiKey: key.body.secret as string });
      }
      for (const a of accounts.slice(0, 2)) streams.push(await open(`/v1/orgs/${a.orgId}/events/stream`, from('203.0.113.9', a), app));
      assert.deepEqual(streams.map((s) => s.status), [200, 200]);
      const third = accounts[2] as { orgId: string; apiKey: string };
      const refused = await open(`/v1/orgs/${third.orgId}/events/stream`, from('203.0.113.9', third), app);
      assert.deepEqual([refused.status, refused.body?.code], [429, 'rate_limited'], "a third person's stream from the same address");
      assert.equal(refused.headers?.get('ratelimit-limit') ?? null, null, "not the admitted key check's headers: they would invite an early retry");
      const elsewhere = await open(`/v1/orgs/${third.orgId}/events/stream`, from('198.51.100.3', third), app);
      assert.equal(elsewhere.status, 200, 'the same person from another address');
      for (const s of [...streams, elsewhere]) s.sse!.close();
    } finally {
      await app.close();
    }
  });
});
