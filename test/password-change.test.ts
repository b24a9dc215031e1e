/**
 * Changing one's password (POST /v1/auth/password) and the operator's reset: the current
 * password, and a code when 2FA is on, are required and throttled like a sign-in; the new one
 * meets the sign-up policy; other sessions end; the change is audited in every organisation of
 * the user; a refusal writes nothing. The CLI's `admin reset-password` runs in a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { joinOrg, signUp, startTestApp, strongPassword, type SignedUp, type TestApp } from './helpers/harness.ts';
import { TEST_MASTER_KEY } from './helpers/test-keys.ts';
import { createLoginThrottle, defaultLoginThrottle } from '../src/modules/accounts/login-throttle.ts';
import { createAccountService } from '../src/modules/accounts/service.ts';
import { createAccountStore } from '../src/modules/accounts/store.ts';
import { createAuditService } from '../src/modules/audit/service.ts';
import { createInvalidationBus } from '../src/platform/cache/invalidation.ts';
import { createMemoryPubSub } from '../src/platform/cache/pubsub.ts';

const STEP_MS = 30_000;
let nowMs = Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2;
const clock = { now: () => new Date(nowMs) };
// Failed attempts on purpose: from an address of this file's own, as in test/totp.test.ts.
const fromIp = { 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` };
const NEW_PASSWORD = 'amber-lantern-orbit-92';

let t: TestApp;
before(async () => {
  t = await startTestApp({ clock, loginThrottle: { perAccount: 5 }, config: { trustProxy: true } });
});
after(() => t.close());

const change = (user: SignedUp, body: unknown, headers: Record<string, string> = fromIp) => user.client.post('/v1/auth/password', body, headers);
const login = (email: string, password: string, totp?: string) =>
  t.client().post('/v1/auth/login', { email, password, ...(totp === undefined ? {} : { totp }) }, fromIp);

async function passwordHashOf(userId: string): Promise<string | null> {
  const row = await t.database.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
  return row.password_hash;
}

async function auditActions(user: SignedUp, orgId = user.orgId): Promise<string[]> {
  const r = await user.client.get(`/v1/orgs/${orgId}/audit-log`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.entries.map((e: { action: string }) => e.action).filter((a: string) => a.startsWith('user.password'));
}

/** The user's state that a refused change must leave as it was. */
async function snapshot(user: SignedUp) {
  return { hash: await passwordHashOf(user.userId), audit: await auditActions(user), me: (await user.client.get('/v1/me')).status };
}

async function withTotp(user: SignedUp): Promise<{ secret: string; recoveryCodes: string[] }> {
  const setup = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
  const enable = await user.client.post('/v1/auth/totp/enable', { code: await generate({ secret: setup.body.secret, epoch: Math.floor(nowMs / 1000) }) });
  assert.equal(enable.status, 200, JSON.stringify(enable.body));
  nowMs += STEP_MS;
  return { secret: setup.body.secret, recoveryCodes: enable.body.recoveryCodes };
}

describe('changing the password', () => {
  it('with the current password: the new one signs in, the old one does not, other sessions end, this one stays, audited in every org', async () => {
    const user = await signUp(t, 'Password Co');
    const other = await signUp(t, 'Second Org', 'inviter');
    await joinOrg(other.client, other.orgId, user, 'viewer');
    const elsewhere = await login(user.email, strongPassword);
    assert.equal(elsewhere.status, 200);
    const elsewhereClient = t.client();
    const signedIn = await elsewhereClient.post('/v1/auth/login', { email: user.email, password: strongPassword }, fromIp);
    assert.equal(signedIn.status, 200);

    const r = await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD });
    assert.equal(r.status, 204, JSON.stringify(r.body));

    assert.equal((await user.client.get('/v1/me')).status, 200, 'the session that changed it stays signed in');
    assert.equal((await elsewhereClient.get('/v1/me')).status, 401, 'every other session ends at once');
    assert.equal((await login(user.email, strongPassword)).status, 401);
    assert.equal((await login(user.email, NEW_PASSWORD)).status, 200);
    assert.deepEqual(await auditActions(user), ['user.password_changed']);
    assert.deepEqual(await auditActions(other, other.orgId), ['user.password_changed']);
    const entry = (await user.client.get(`/v1/orgs/${user.orgId}/audit-log`)).body.entries.find((e: { action: string }) => e.action === 'user.password_changed');
    assert.equal(entry.actor.id, user.userId);
    assert.doesNotMatch(JSON.stringify(entry), /violet|amber/, 'no password in the audit record');
  });

  it('refuses a wrong current password (401), a weak or unchanged new one (400), with nothing written', async () => {
    const user = await signUp(t, 'Refusals');
    const before = await snapshot(user);
    const wrong = await change(user, { currentPassword: 'not-the-password-at-all', newPassword: NEW_PASSWORD });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'invalid_credentials');
    const refused = (await user.client.get(`/v1/orgs/${user.orgId}/audit-log?action=user.reauthentication_failed`)).body.entries;
    assert.deepEqual(refused.map((e: { metadata: { reason: string } }) => e.metadata.reason), ['password'], 'a wrong guess with a stolen session leaves a trace');
    for (const newPassword of ['short', 'password1234', user.email.split('@')[0] + '-longer-than-twelve', strongPassword]) {
      const weak = await change(user, { currentPassword: strongPassword, newPassword });
      assert.equal(weak.status, 400, newPassword);
      assert.equal(weak.body.code, 'weak_password');
    }
    assert.deepEqual(await snapshot(user), before);
  });

  it('refuses malformed bodies with 400 and nothing written', async () => {
    const user = await signUp(t, 'Malformed');
    const before = await snapshot(user);
    for (const body of [{}, { currentPassword: strongPassword }, { newPassword: NEW_PASSWORD }, { currentPassword: 1, newPassword: NEW_PASSWORD }, { currentPassword: strongPassword, newPassword: 'x'.repeat(300) }, { currentPassword: strongPassword, newPassword: NEW_PASSWORD, extra: true }, { currentPassword: strongPassword, newPassword: NEW_PASSWORD, code: 'abc' }]) {
      const r = await change(user, body);
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    const notJson = await user.client.request('POST', '/v1/auth/password', 'currentPassword=x', { ...fromIp, 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(notJson.status, 415);
    assert.deepEqual(await snapshot(user), before);
  });

  it('needs a session: no credentials 401, an API key 403, a missing CSRF token 403, a signed-out session 401', async () => {
    const user = await signUp(t, 'Who may');
    const before = await passwordHashOf(user.userId);
    const anonymous = await t.client().post('/v1/auth/password', { currentPassword: strongPassword, newPassword: NEW_PASSWORD });
    assert.equal(anonymous.status, 401);
    const key = await user.client.post(`/v1/orgs/${user.orgId}/api-keys`, { name: 'full', scopes: ['keys:manage', 'projects:read'] });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const viaKey = await t.client().post('/v1/auth/password', { currentPassword: strongPassword, newPassword: NEW_PASSWORD }, { authorization: `Bearer ${key.body.secret}` });
    assert.equal(viaKey.status, 403);
    const noCsrf = await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD }, { ...fromIp, 'x-csrf-token': '' });
    assert.equal(noCsrf.status, 403);
    const stale = await signUp(t, 'Signed out');
    const staleHash = await passwordHashOf(stale.userId);
    const cookies = new Map(stale.client.cookies);
    await stale.client.post('/v1/auth/logout');
    stale.client.cookies = cookies;
    assert.equal((await change(stale, { currentPassword: strongPassword, newPassword: NEW_PASSWORD })).status, 401);
    assert.equal(await passwordHashOf(user.userId), before);
    assert.equal(await passwordHashOf(stale.userId), staleHash);
  });

  it('counts wrong current passwords in the login throttle: a stolen session cannot guess the password', async () => {
    const user = await signUp(t, 'Throttled');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await change(user, { currentPassword: `guess-number-${i}-wrong`, newPassword: NEW_PASSWORD })).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.deepEqual(statuses.slice(5), [429, 429]);
    // The right password is refused too while the wait lasts, and sign-in from that address as well.
    assert.equal((await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD })).status, 429);
    assert.equal((await login(user.email, strongPassword)).status, 429);
  });

  it('with 2FA on: needs a code (401 totp_required), refuses a wrong or replayed one, accepts a current code once', async () => {
    const user = await signUp(t, 'Two factors');
    const { secret } = await withTotp(user);
    const before = await snapshot(user);
    const noCode = await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD });
    assert.equal(noCode.status, 401);
    assert.equal(noCode.body.code, 'totp_required');
    const wrongCode = await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD, code: '000000' });
    assert.equal(wrongCode.status, 401);
    assert.equal(wrongCode.body.code, 'invalid_credentials');
    const refused = (await user.client.get(`/v1/orgs/${user.orgId}/audit-log?action=user.reauthentication_failed`)).body.entries;
    assert.deepEqual(refused.map((e: { metadata: { reason: string } }) => e.metadata.reason), ['second_factor']);
    const code = await generate({ secret, epoch: Math.floor(nowMs / 1000) });
    const wrongPassword = await change(user, { currentPassword: 'not-the-password-at-all', newPassword: NEW_PASSWORD, code });
    assert.equal(wrongPassword.status, 401);
    assert.deepEqual(await snapshot(user), before);

    const ok = await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD, code });
    assert.equal(ok.status, 204, JSON.stringify(ok.body));
    const replay = await change(user, { currentPassword: NEW_PASSWORD, newPassword: 'copper-meadow-signal-15', code });
    assert.equal(replay.status, 401, 'the code of a used time step does not work twice');
    assert.equal((await login(user.email, NEW_PASSWORD, await generate({ secret, epoch: Math.floor((nowMs + STEP_MS) / 1000) }))).status, 200);
    assert.deepEqual(await auditActions(user), ['user.password_changed']);
  });

  it('with 2FA on, a recovery code stands in for the authenticator once, and its use is audited', async () => {
    const user = await signUp(t, 'Recovery');
    const { recoveryCodes } = await withTotp(user);
    const code = recoveryCodes[0] ?? '';
    const ok = await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD, code });
    assert.equal(ok.status, 204, JSON.stringify(ok.body));
    const again = await change(user, { currentPassword: NEW_PASSWORD, newPassword: 'copper-meadow-signal-15', code });
    assert.equal(again.status, 401);
    const r = await user.client.get(`/v1/orgs/${user.orgId}/audit-log`);
    const actions = r.body.entries.map((e: { action: string }) => e.action);
    assert.ok(actions.includes('user.totp_recovery_code_used') && actions.includes('user.password_changed'), actions.join());
    assert.equal((await login(user.email, NEW_PASSWORD, recoveryCodes[1])).status, 200);
  });
});

describe('a sign-in racing a password change', () => {
  it('a sign-in that checked the old password while the change committed gets no session (it would outlive the change)', async () => {
    const user = await signUp(t, 'Race');
    // A second account service on the same database, whose look-up of the user pauses after
    // reading the row: the sign-in has the old hash in hand while the change commits.
    let paused = (): void => undefined;
    const reading = new Promise<void>((resolve) => (paused = resolve));
    let resume = (): void => undefined;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const store = createAccountStore();
    const racing = createAccountService({
      db: t.database.db,
      store: {
        ...store,
        findUserByEmail: async (x, email) => {
          const row = await store.findUserByEmail(x, email);
          paused();
          await resumed;
          return row;
        },
      },
      orgs: t.services.orgs,
      audit: createAuditService(),
      throttle: createLoginThrottle(defaultLoginThrottle),
      totp: { acceptLoginCode: async () => false },
      clock,
      sessionTtlHours: 1,
      sessionIdleMinutes: 60,
      invalidation: createInvalidationBus(createMemoryPubSub()),
    });
    const login = racing.login({ email: user.email, password: strongPassword }, { ip: '192.0.2.50', userAgent: null });
    await reading;
    assert.equal((await change(user, { currentPassword: strongPassword, newPassword: NEW_PASSWORD })).status, 204);
    resume();
    await assert.rejects(login, (e: Error & { code?: string }) => e.code === 'invalid_credentials');
    const sessions = await t.database.db.selectFrom('sessions').select('id').where('user_id', '=', user.userId).where('revoked_at', 'is', null).execute();
    assert.equal(sessions.length, 1, 'only the session that made the change');
  });
});

describe("the operator's reset", () => {
  it('sets a new password, ends every session of the user, audits it as the system; unknown addresses and weak passwords are refused', async () => {
    const user = await signUp(t, 'Reset');
    const reset = await t.services.accounts.resetPassword(user.email.toUpperCase(), NEW_PASSWORD);
    assert.equal(reset.id, user.userId);
    assert.equal((await user.client.get('/v1/me')).status, 401);
    assert.equal((await login(user.email, strongPassword)).status, 401);
    const again = await login(user.email, NEW_PASSWORD);
    assert.equal(again.status, 200);
    const admin = t.client();
    await admin.post('/v1/auth/login', { email: user.email, password: NEW_PASSWORD }, fromIp);
    const log = await admin.get(`/v1/orgs/${user.orgId}/audit-log?action=user.password_reset`);
    assert.equal(log.body.entries.length, 1);
    assert.equal(log.body.entries[0].actor.type, 'system');

    await assert.rejects(t.services.accounts.resetPassword('nobody@example.test', NEW_PASSWORD), /No account/);
    const hash = await passwordHashOf(user.userId);
    await assert.rejects(t.services.accounts.resetPassword(user.email, 'short'), /at least/);
    assert.equal(await passwordHashOf(user.userId), hash);
  });

  it('palisade admin reset-password prints a new password once (child process, embedded database)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'palisade-reset-'));
    try {
      const env = { DATA_DIR: dataDir, DATABASE_URL: '', PALISADE_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'silent' };
      const created = await runCli(['admin', 'create-user', '--email', 'ops@example.test', '--org', 'Ops'], env);
      assert.equal(created.code, 0, created.output);
      const reset = await runCli(['admin', 'reset-password', '--email', 'ops@example.test'], env);
      assert.equal(reset.code, 0, reset.output);
      assert.match(reset.output, /New password for ops@example\.test \(usr_[^)]+\), shown once: [A-Za-z0-9_-]{24}\n/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += String(d)));
  child.stderr.on('data', (d: Buffer) => (output += String(d)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}
