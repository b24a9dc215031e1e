/**
 * Webhooks end to end: a real receiver on 127.0.0.1 gets the organisation's audited events,
 * signed in the Standard Webhooks form (checked with that project's own library), only those it
 * subscribed to, retried with back-off when it fails; secrets are shown once and stored only
 * encrypted; lockdown and rotation change them; another organisation sees none of it.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { signUp, startTestApp, type TestApp } from './helpers/harness.ts';
import { MAX_SENDS_PER_ORG, createWebhookStore } from '../src/modules/webhooks/store.ts';
import { createWebhookDispatcher } from '../src/modules/webhooks/dispatcher.ts';
import { LookupsBusyError } from '../src/platform/net/guarded-fetch.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let t: TestApp;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
let answerWith = 204;
let offsetMs = 0;

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = answerWith;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks?token=receiver-own-token`;
  // Deliveries are sent by the test (drain()), on a clock it can move for the retries (days: the
  // dashboard sessions of the test must not end for idleness meanwhile).
  t = await startTestApp({
    config: { webhookAllowPrivateNetworks: true, webhookDeliveryIntervalMs: 0, sessionIdleMinutes: 60 * 24 * 30 },
    clock: { now: () => new Date(Date.now() + offsetMs) },
  });
});
after(async () => {
  await t.close();
  await new Promise((resolve) => receiver.close(resolve));
});

const drain = (): Promise<number> => t.services.webhooks.dispatcher.drain();

function verified(secret: string, r: Received): { type: string; id: string; orgId: string; data: Record<string, unknown>; actor: unknown; target: unknown } {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  }) as never;
}

describe('webhooks', () => {
  it('delivers subscribed events, signed, once each; the secret is shown once and stored encrypted', async () => {
    const owner = await signUp(t, 'Hooked');
    received.length = 0;
    answerWith = 204;
    const created = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.*'], description: 'ops' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const secret: string = created.body.secret;
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(created.body.webhook.url, receiverUrl);
    assert.deepEqual(created.body.webhook.eventTypes, ['project.*']);

    const listed = await owner.client.get(`/v1/orgs/${owner.orgId}/webhooks`);
    assert.equal(listed.status, 200);
    assert.equal(listed.body.webhooks.length, 1);
    assert.equal(JSON.stringify(listed.body).includes(secret), false);
    assert.equal(JSON.stringify((await owner.client.get(`/v1/webhooks/${created.body.webhook.id}`)).body).includes(secret), false);
    assert.deepEqual(await scanForPlaintext(t, secret.slice('whsec_'.length)), []);

    const project = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    assert.equal(project.status, 201);
    await owner.client.patch(`/v1/orgs/${owner.orgId}`, { name: 'Renamed' }); // org.*: not subscribed

    assert.equal(await drain(), 1);
    assert.equal(received.length, 1);
    const event = verified(secret, received[0] as Received);
    assert.equal(event.type, 'project.created');
    assert.equal(event.orgId, owner.orgId);
    assert.deepEqual(event.target, { type: 'project', id: project.body.project.id });
    assert.deepEqual(event.actor, { type: 'user', id: owner.userId });
    assert.equal((received[0] as Received).body.includes('127.0.0.1'), false, 'no IP address in events');
    assert.equal(received[0]?.headers['webhook-id'], event.id);
    assert.equal(received[0]?.headers['content-type'], 'application/json');
    // A wrong secret does not verify.
    assert.throws(() => verified(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, received[0] as Received));

    assert.equal(await drain(), 0, 'delivered once');
    const deliveries = await owner.client.get(`/v1/webhooks/${created.body.webhook.id}/deliveries`);
    assert.equal(deliveries.status, 200);
    assert.equal(deliveries.body.deliveries.length, 1);
    assert.equal(deliveries.body.deliveries[0].status, 'delivered');
    assert.equal(deliveries.body.deliveries[0].lastStatus, 204);
    assert.equal(deliveries.body.deliveries[0].eventId, event.id);
  });

  it('retries a failing receiver with back-off, then marks the delivery failed; a finished one can be sent again', async () => {
    const owner = await signUp(t, 'Flaky');
    received.length = 0;
    answerWith = 503;
    const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] });
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    const path = `/v1/webhooks/${hook.body.webhook.id}/deliveries`;

    assert.equal(await drain(), 1);
    let d = (await owner.client.get(path)).body.deliveries[0];
    assert.equal(d.status, 'pending');
    assert.equal(d.attempts, 1);
    assert.equal(d.lastStatus, 503);
    assert.match(d.lastError, /HTTP 503/);
    assert.equal(await drain(), 0, 'not again before its time');

    // Each retry comes after its delay; after the ninth attempt the delivery has failed for good.
    for (let attempt = 2; attempt <= t.services.webhooks.dispatcher.maxAttempts; attempt++) {
      offsetMs += 7 * 3_600_000;
      assert.equal(await drain(), 1, `attempt ${attempt}`);
    }
    d = (await owner.client.get(path)).body.deliveries[0];
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts, t.services.webhooks.dispatcher.maxAttempts);
    assert.equal(d.nextAttemptAt, null);
    offsetMs += 24 * 3_600_000;
    assert.equal(await drain(), 0);
    assert.equal(received.length, t.services.webhooks.dispatcher.maxAttempts);

    // The receiver is fixed: the failed delivery is sent again on request, with the same event id.
    answerWith = 200;
    const again = await owner.client.post(`${path}/${d.id}/redeliver`);
    assert.equal(again.status, 202);
    assert.equal(await drain(), 1);
    const redelivered = (await owner.client.get(path)).body.deliveries.find((x: { id: string }) => x.id === d.id);
    assert.equal(redelivered.status, 'delivered');
    assert.equal(redelivered.attempts, 1, 'a redelivery starts a fresh set of attempts');
    assert.equal(received.at(-1)?.headers['webhook-id'], d.eventId);
    assert.equal((await owner.client.post(`${path}/${d.id}/redeliver`)).status, 202);
    assert.equal((await owner.client.post(`${path}/dlv_unknown123/redeliver`)).status, 404);
    assert.equal(await drain(), 1);
    offsetMs = 0; // receivers check the timestamp against their own clock
  });

  it('pii.detected: counts per type, sent with the visitor\'s message, never a value', async () => {
    const owner = await signUp(t, 'Detecting');
    received.length = 0;
    answerWith = 204;
    const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['pii.detected'] });
    const origin = 'https://docs.example.com';
    const project = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot', settings: { allowedDomains: ['docs.example.com'] } });
    const session = await t.client().post(`/v1/widget/${project.body.project.id}/sessions`, {}, { origin });
    const send = (content: string) => t.client().post(`/v1/widget/${project.body.project.id}/messages`, { content }, { origin, authorization: `Bearer ${session.body.token}` });
    assert.equal((await send('Hello, what are your opening hours?')).status, 200);
    assert.equal(await drain(), 0, 'no personal data, no event');
    const m = await send('Write to pat.doe@example.com or call +44 20 7946 0958');
    assert.equal(m.status, 200);
    assert.equal(await drain(), 1);
    const event = verified(hook.body.secret, received[0] as Received);
    assert.equal(event.type, 'pii.detected');
    assert.match(event.id, /^evt_/);
    assert.deepEqual(event.target, { type: 'conversation', id: m.body.conversationId });
    assert.deepEqual(event.actor, { type: 'visitor', id: null });
    assert.deepEqual(event.data, { projectId: project.body.project.id, messageId: (event.data as { messageId: string }).messageId, types: { EMAIL: 1, PHONE: 1 } });
    assert.equal((received[0] as Received).body.includes('pat.doe'), false);
    assert.equal((received[0] as Received).body.includes('7946'), false);
  });

  it('records why an attempt failed: a refused connection, a redirect (not followed)', async () => {
    const owner = await signUp(t, 'Failing');
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as { port: number }).port;
    await new Promise((resolve) => gone.close(resolve)); // nothing listens there now
    const closed = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: `http://127.0.0.1:${port}/hooks`, eventTypes: ['project.created'] });
    received.length = 0;
    answerWith = 302;
    const redirected = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] });
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    assert.equal(await drain(), 2);
    const last = async (id: string) => (await owner.client.get(`/v1/webhooks/${id}/deliveries`)).body.deliveries[0];
    assert.match((await last(closed.body.webhook.id)).lastError, /ECONNREFUSED/);
    const r = await last(redirected.body.webhook.id);
    assert.equal(r.status, 'pending');
    assert.equal(r.lastStatus, 302);
    assert.equal(received.length, 1, 'the redirect was not followed');
    answerWith = 204;
  });

  it('a disabled webhook gets nothing; a deleted one takes its deliveries with it', async () => {
    const owner = await signUp(t, 'Quiet');
    received.length = 0;
    answerWith = 204;
    const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['*'], enabled: false });
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    assert.equal(await drain(), 0);
    const enabled = await owner.client.patch(`/v1/webhooks/${hook.body.webhook.id}`, { enabled: true });
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.webhook.enabled, true);
    assert.equal(await drain(), 1, 'its own update is an event it subscribed to');
    assert.equal(verified(hook.body.secret, received[0] as Received).type, 'webhook.updated');

    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'second' });
    assert.equal((await owner.client.delete(`/v1/webhooks/${hook.body.webhook.id}`)).status, 204);
    assert.equal(await drain(), 0, 'the pending delivery went with the webhook');
    assert.equal((await owner.client.get(`/v1/webhooks/${hook.body.webhook.id}`)).status, 404);
  });

  it('rotation and lockdown change the secret: deliveries are signed with the new one only', async () => {
    const owner = await signUp(t, 'Rotating');
    received.length = 0;
    answerWith = 204;
    const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] });
    const rotated = await owner.client.post(`/v1/webhooks/${hook.body.webhook.id}/rotate-secret`);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.secret, hook.body.secret);
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    await drain();
    assert.throws(() => verified(hook.body.secret, received[0] as Received));
    assert.equal(verified(rotated.body.secret, received[0] as Received).type, 'project.created');

    // A pending delivery at the time of the lockdown is not sent; the webhook is off afterwards.
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'queued' });
    const lockdown = await owner.client.post(`/v1/orgs/${owner.orgId}/lockdown`);
    assert.equal(lockdown.status, 200);
    assert.equal(lockdown.body.disabledWebhooks, 1);
    assert.equal(lockdown.body.rotatedWebhookSecrets, 1);
    const sentBefore = received.length;
    // The owner's session ended with the lockdown: sign in again, then make an event.
    const login = await owner.client.post('/v1/auth/login', { email: owner.email, password: 'violet-harbour-quantum-47' });
    assert.equal(login.status, 200);
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'after' });
    assert.equal(await drain(), 0, 'nothing goes to a webhook the lockdown turned off');
    assert.equal(received.length, sentBefore);
    const path = `/v1/webhooks/${hook.body.webhook.id}`;
    assert.equal((await owner.client.get(path)).body.webhook.enabled, false);
    const queued = (await owner.client.get(`${path}/deliveries?status=failed`)).body.deliveries;
    assert.equal(queued.length, 1);
    assert.match(queued[0].lastError, /locked down/);

    // Checked, given a new secret for its receiver and turned back on, it delivers again.
    const fresh = await owner.client.post(`${path}/rotate-secret`);
    assert.equal((await owner.client.patch(path, { enabled: true })).status, 200);
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'back' });
    assert.equal(await drain(), 1);
    assert.equal(verified(fresh.body.secret, received.at(-1) as Received).type, 'project.created');
    assert.throws(() => verified(rotated.body.secret, received.at(-1) as Received), 'the pre-lockdown secret no longer signs');
  });

  it('an organisation has at most 20 webhooks, also when created at once', async () => {
    const owner = await signUp(t, 'Many');
    const create = () => owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: 'https://example.com/x', eventTypes: ['*'] });
    for (let i = 0; i < 17; i++) assert.equal((await create()).status, 201);
    const statuses = (await Promise.all([create(), create(), create(), create(), create()])).map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 409, 409]);
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/webhooks`)).body.webhooks.length, 20);
  });

  it('refuses URLs it must not deliver to, and event types it does not know the shape of', async () => {
    const owner = await signUp(t, 'Careful');
    const create = (body: unknown) => owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, body);
    for (const url of ['ftp://example.com/x', 'https://user:pw@example.com/x', 'https://example.com/x#frag', 'http://169.254.169.254/latest', 'https://[fe80::1]/x', 'not a url']) {
      const r = await create({ url, eventTypes: ['*'] });
      assert.equal(r.status, 400, url);
      assert.equal(r.body.code, 'invalid_request');
    }
    for (const eventTypes of [[], ['Project.Created'], ['project'], ['*.created'], ['a'.repeat(101)]]) {
      assert.equal((await create({ url: 'https://example.com/x', eventTypes })).status, 400, JSON.stringify(eventTypes));
    }
    assert.equal((await create({ url: 'https://example.com/x', eventTypes: ['*'], extra: 1 })).status, 400);
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/webhooks`)).body.webhooks.length, 0, 'nothing written');

    const hook = await create({ url: 'https://example.com/x', eventTypes: ['*'] });
    const path = `/v1/webhooks/${hook.body.webhook.id}`;
    const before = JSON.stringify((await owner.client.get(path)).body);
    assert.equal((await owner.client.patch(path, {})).status, 400, 'nothing to change');
    assert.equal((await owner.client.patch(path, { url: 'http://169.254.169.254/' })).status, 400);
    assert.equal((await owner.client.patch(path, { enabled: 'yes' })).status, 400);
    assert.equal(JSON.stringify((await owner.client.get(path)).body), before, 'a refused change changes nothing');
    for (const bad of ['/v1/webhooks/whk_', '/v1/webhooks/prj_abc', "/v1/webhooks/whk_a'b", `${path}/deliveries?limit=0`, `${path}/deliveries?status=lost`, `${path}/deliveries?before=x`]) {
      const r = await owner.client.get(bad);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.code, 'invalid_request');
    }
    assert.equal((await owner.client.get('/v1/webhooks/whk_doesnotexist1')).status, 404);
  });

  it('API keys: the webhooks:manage scope, not less; not a key restricted to projects; not a revoked one', async () => {
    const owner = await signUp(t, 'Keyed');
    const keyed = async (body: Record<string, unknown>) => {
      const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'k', ...body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const client = t.client();
      client.bearer = r.body.secret;
      return { client, id: r.body.apiKey?.id ?? r.body.key?.id };
    };
    const body = { url: 'https://example.com/x', eventTypes: ['*'] };
    const manager = await keyed({ scopes: ['webhooks:manage', 'audit:read'] });
    assert.equal((await manager.client.post(`/v1/orgs/${owner.orgId}/webhooks`, body)).status, 201);
    // A webhook on '*' reads the audit log as it is written: managing one needs audit:read too.
    const manageOnly = await keyed({ scopes: ['webhooks:manage'] });
    const noAudit = await manageOnly.client.post(`/v1/orgs/${owner.orgId}/webhooks`, body);
    assert.equal(noAudit.status, 403);
    assert.equal(noAudit.body.code, 'insufficient_scope');
    const reader = await keyed({ scopes: ['projects:read', 'audit:read'] });
    const refused = await reader.client.post(`/v1/orgs/${owner.orgId}/webhooks`, body);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'insufficient_scope');
    const project = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    const restricted = await keyed({ scopes: ['webhooks:manage', 'audit:read'], projectIds: [project.body.project.id] });
    assert.equal((await restricted.client.get(`/v1/orgs/${owner.orgId}/webhooks`)).status, 403);
    assert.equal((await owner.client.delete(`/v1/api-keys/${manager.id}`)).status, 204);
    const revoked = await manager.client.post(`/v1/orgs/${owner.orgId}/webhooks`, body);
    assert.equal(revoked.status, 401);
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/webhooks`)).body.webhooks.length, 1, 'only the first was written');
  });
});

/** A dispatcher whose every send finds this server's DNS look-ups busy; `onCall` for each one to receiver.example. */
function dispatcherWithBusyResolver(onCall: () => void) {
  return createWebhookDispatcher({
    db: t.database.db,
    store: createWebhookStore(),
    cipher: { decrypt: async () => 'whsec_' + Buffer.alloc(24, 1).toString('base64') },
    urls: {
      check: () => undefined,
      fetch: async (url: URL | RequestInfo) => {
        if (String(url).includes('receiver.example')) onCall(); // (other tests' retries may fall due meanwhile)
        throw new LookupsBusyError('DNS look-ups are backed up on this server: receiver.example was not looked up; try again');
      },
    },
    clock: { now: () => new Date(Date.now() + offsetMs) },
    userAgent: 'test',
  });
}

describe('webhooks of many organisations', () => {
  it('organisations take turns: one with many webhooks and a backlog does not keep every slot from another', async () => {
    const busy = await signUp(t, 'Backlogged');
    for (let i = 0; i < 12; i++) assert.equal((await busy.client.post(`/v1/orgs/${busy.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] })).status, 201);
    for (const name of ['one', 'two']) await busy.client.post(`/v1/orgs/${busy.orgId}/projects`, { name });
    const quiet = await signUp(t, 'Quiet Neighbour');
    await quiet.client.post(`/v1/orgs/${quiet.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] });
    await quiet.client.post(`/v1/orgs/${quiet.orgId}/projects`, { name: 'theirs' });
    // Every one of the backlogged organisation's deliveries is older than the neighbour's one.
    await t.database.db.updateTable('webhook_deliveries').set({ next_attempt_at: new Date(Date.now() - 3_600_000) }).where('org_id', '=', busy.orgId).execute();
    const now = new Date(Date.now() + offsetMs + 1000);
    const store = createWebhookStore();
    // (More slots than one instance has: other tests' organisations may have retries due too.)
    const claimed = await store.claimDue(t.database.db, now, new Date(now.getTime() + 60_000), 100);
    const ours = claimed.filter((d) => d.org_id === busy.orgId);
    assert.equal(claimed.filter((d) => d.org_id === quiet.orgId).length, 1, 'the neighbour gets its turn in the first round');
    assert.equal(ours.length, MAX_SENDS_PER_ORG, 'an organisation has a bounded number of sends out, never every slot');
    assert.equal(new Set(claimed.map((d) => d.webhook_id)).size, claimed.length, 'still one delivery per webhook at a time');
    // A delivery stamped before the one out (its transaction began earlier, and committed after
    // the claim) does not make a second send of that webhook.
    const quietHead = claimed.find((d) => d.org_id === quiet.orgId);
    await sql`INSERT INTO webhook_deliveries (id, org_id, webhook_id, event_id, event_type, payload, next_attempt_at)
      VALUES ('dlv_late_committed', ${quiet.orgId}, ${quietHead?.webhook_id}, 'evt_late', 'project.created', '{}'::jsonb, ${new Date(now.getTime() - 7_200_000)})`.execute(t.database.db);
    const meanwhile = await store.claimDue(t.database.db, now, new Date(now.getTime() + 60_000), 100);
    assert.ok(!meanwhile.some((d) => d.webhook_id === quietHead?.webhook_id), 'one send per webhook at a time');
    if (meanwhile.length > 0) await t.database.db.updateTable('webhook_deliveries').set({ claimed_until: null }).where('id', 'in', meanwhile.map((d) => d.id)).execute();
    await t.database.db.deleteFrom('webhook_deliveries').where('id', '=', 'dlv_late_committed').execute();
    // Slots free one at a time: the organisation with sends out waits behind one with none.
    await quiet.client.post(`/v1/orgs/${quiet.orgId}/projects`, { name: 'theirs too' });
    const quietWebhook = claimed.find((d) => d.org_id === quiet.orgId)?.webhook_id ?? '';
    await t.database.db.updateTable('webhook_deliveries').set({ claimed_until: null }).where('webhook_id', '=', quietWebhook).execute();
    // The backlogged one has a single send still out; the neighbour none.
    await t.database.db.updateTable('webhook_deliveries').set({ claimed_until: null }).where('id', 'in', ours.slice(1).map((d) => d.id)).execute();
    const later = new Date(Date.now() + offsetMs + 2000);
    const next = await store.claimDue(t.database.db, later, new Date(later.getTime() + 60_000), 1);
    assert.deepEqual(next.map((d) => d.org_id), [quiet.orgId], 'one free slot goes to the neighbour, though the backlog is older');
    await t.database.db.updateTable('webhook_deliveries').set({ claimed_until: null }).where('id', 'in', [...claimed, ...next].map((d) => d.id)).execute();
    received.length = 0;
    answerWith = 204;
    assert.ok((await drain()) >= 25);
  });

  it("a delivery this server could not start (its DNS look-ups busy) is tried again soon, without using up an attempt", async () => {
    const owner = await signUp(t, 'Busy Resolver');
    const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: 'https://receiver.example/hooks', eventTypes: ['project.created'] });
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    let calls = 0;
    const busyResolver = dispatcherWithBusyResolver(() => calls++);
    // (Other tests' retries that fall due meanwhile may be claimed too: only this one is checked.)
    assert.ok((await busyResolver.drain()) >= 1);
    assert.ok(calls >= 1);
    const d = (await owner.client.get(`/v1/webhooks/${hook.body.webhook.id}/deliveries`)).body.deliveries[0];
    assert.equal(d.status, 'pending');
    assert.equal(d.attempts, 0, 'not counted against the nine attempts');
    assert.match(d.lastError, /backed up/);
    const wait = Date.parse(d.nextAttemptAt) - (Date.now() + offsetMs);
    assert.ok(wait > 0 && wait <= 5000, `tried again in ${wait} ms, not after the back-off of a failed attempt`);
    await t.database.db.deleteFrom('webhooks').where('id', '=', hook.body.webhook.id).execute();
  });

  it('a busy resolver does not make the dispatcher run through the backlog in a loop: the next claim waits for the timer', async () => {
    const owner = await signUp(t, 'Busy Backlog');
    const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: 'https://receiver.example/hooks', eventTypes: ['project.created'] });
    for (let i = 0; i < 12; i++) await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: `bot ${i}` });
    let calls = 0;
    const busyResolver = dispatcherWithBusyResolver(() => calls++);
    try {
      busyResolver.run(() => undefined);
      await busyResolver.pump();
      await new Promise((resolve) => setTimeout(resolve, 500));
      // One webhook: one delivery at a time, and after a busy failure no refill (the other
      // eleven used to follow at once, each failing the same way).
      assert.equal(calls, 1);
    } finally {
      await busyResolver.stop();
      await t.database.db.deleteFrom('webhooks').where('id', '=', hook.body.webhook.id).execute();
    }
  });
});

describe('webhooks on the timer', () => {
  it('an instance sends due deliveries by itself, and stops sending when it closes', async () => {
    const timed = await startTestApp({ config: { webhookAllowPrivateNetworks: true, webhookDeliveryIntervalMs: 50 } });
    try {
      const owner = await signUp(timed, 'Timed');
      received.length = 0;
      answerWith = 204;
      const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] });
      await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
      const until = Date.now() + 5000;
      while (received.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(verified(hook.body.secret, received[0] as Received).type, 'project.created');
    } finally {
      await timed.close();
    }
  });

  it('a finished delivery makes room for the next at once, not on the next tick', async () => {
    const timed = await startTestApp({ config: { webhookAllowPrivateNetworks: true, webhookDeliveryIntervalMs: 1500 } });
    try {
      const owner = await signUp(timed, 'Quick Succession');
      received.length = 0;
      answerWith = 204;
      await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] });
      for (const name of ['one', 'two', 'three', 'four']) await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name });
      const until = Date.now() + 10_000;
      while (received.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
      const first = Date.now();
      while (received.length < 4 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(received.length, 4);
      // One at a time to the one webhook, each as soon as the one before it was answered: without
      // that, one a tick (4.5 s for the last three).
      assert.ok(Date.now() - first < 1200, `the other three took ${Date.now() - first} ms`);
    } finally {
      await timed.close();
    }
  });

  it('a receiver that never answers holds up only its own webhook, one delivery at a time, and not the shutdown', async () => {
    let reached = 0;
    const hanging = createServer(() => (reached += 1)); // never replies
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const address = hanging.address();
    const timed = await startTestApp({ config: { webhookAllowPrivateNetworks: true, webhookDeliveryIntervalMs: 50 } });
    try {
      const owner = await signUp(timed, 'Hanging');
      received.length = 0;
      answerWith = 204;
      await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`, eventTypes: ['project.created'] });
      const healthy = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: receiverUrl, eventTypes: ['project.created'] });
      for (const name of ['one', 'two', 'three']) await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name });
      const until = Date.now() + 5000;
      while ((reached === 0 || received.length < 3) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(received.length, 3, 'the healthy webhook got all three meanwhile');
      assert.equal(verified(healthy.body.secret, received[0] as Received).type, 'project.created');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(reached, 1, 'one delivery at a time to the hanging receiver');
    } finally {
      const started = Date.now();
      await timed.close();
      assert.ok(Date.now() - started < 3000, `closed in ${Date.now() - started} ms`);
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });
});

describe('webhooks without private networks', () => {
  let strict: TestApp;
  before(async () => {
    strict = await startTestApp({ config: { webhookAllowPrivateNetworks: false, webhookDeliveryIntervalMs: 0 } });
  });
  after(() => strict.close());

  it('refuses http and this machine at creation, and a name that resolves here at delivery', async () => {
    const owner = await signUp(strict, 'Strict');
    const create = (url: string) => owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url, eventTypes: ['project.created'] });
    assert.equal((await create(receiverUrl)).status, 400, 'plain http');
    assert.equal((await create('https://127.0.0.1/x')).status, 400);
    assert.equal((await create('https://10.0.0.8/x')).status, 400);
    assert.equal((await create('https://localhost/x')).status, 400);
    assert.equal((await create('https://localhost./x')).status, 400);
    // A URL saved while private networks were allowed is refused at delivery under today's rules
    // (a public name that resolves here is stopped at connect time: platform/net, tested with the
    // answer providers; this test cannot reach DNS).
    const hook = await create('https://example.com/x');
    assert.equal(hook.status, 201);
    const port = new URL(receiverUrl).port;
    await strict.database.db.updateTable('webhooks').set({ url: `http://localhost:${port}/hooks` }).where('id', '=', hook.body.webhook.id).execute();
    received.length = 0;
    await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    assert.equal(await strict.services.webhooks.dispatcher.drain(), 1);
    const d = (await owner.client.get(`/v1/webhooks/${hook.body.webhook.id}/deliveries`)).body.deliveries.find((x: { eventType: string }) => x.eventType === 'project.created');
    assert.equal(d.status, 'pending');
    assert.equal(d.lastStatus, null);
    assert.match(d.lastError, /must use https/, 'refused before any request');
    assert.equal(received.length, 0);
  });
});
