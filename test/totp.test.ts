/**
 * Two-factor sign-in with TOTP: setup (after the password), enable, login with a code (once per
 * time step, ±1 step of drift, wrong codes throttled like wrong passwords), disable with password
 * and code; enabling and disabling end the other sessions; who may
 * call the routes; the secret encrypted at rest, bound to its user's row, and covered by
 * `keys rotate-org platform`. The app's clock is injected, so time steps are under test control.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { generate } from 'otplib';
import { totpAad } from '../src/modules/accounts/totp.ts';
import { PLATFORM_ORG_ID, encryptedColumns } from '../src/modules/keys/registry.ts';
import { rotateOrg } from '../src/modules/keys/rotate-org.ts';
import { createKeysStore } from '../src/modules/keys/store.ts';
import { parseCiphertext } from '../src/platform/crypto/envelope.ts';
import { isCryptoError } from '../src/platform/crypto/errors.ts';
import { createSqlCheckpointStore } from '../src/platform/crypto/sql-key-store.ts';
import { countRows, signUp, startTestApp, strongPassword, type SignedUp, type TestApp, joinOrg } from './helpers/harness.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';

const STEP_MS = 30_000;
const THROTTLE_LIMIT = 4;
// Mid-step, so that moving by whole steps never lands on a boundary.
let nowMs = Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2;
const clock = { now: () => new Date(nowMs) };
const advance = (steps: number): void => {
  nowMs += steps * STEP_MS;
};
const currentStep = (): number => Math.floor(nowMs / STEP_MS);

// This file makes many failed attempts on purpose. The per-IP throttle counter lives in Redis
// (on PostgreSQL runs), shared with test files running in parallel: ours come from an address of
// their own (a documentation range, through X-Forwarded-For), so they cannot push 127.0.0.1 over.
const fromIp = { 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` };

let t: TestApp;
before(async () => {
  t = await startTestApp({ clock, loginThrottle: { perAccount: THROTTLE_LIMIT }, config: { trustProxy: true } });
});
after(() => t.close());

const codeAt = (secret: string, offsetSteps = 0): Promise<string> => generate({ secret, epoch: Math.floor(nowMs / 1000) + offsetSteps * 30 });

/** A 6-digit code valid at none of the steps the server accepts now. */
async function wrongCode(secret: string): Promise<string> {
  const valid = new Set(await Promise.all([-1, 0, 1].map((d) => codeAt(secret, d))));
  let n = Number(await codeAt(secret));
  let candidate: string;
  do {
    n = (n + 1) % 1_000_000;
    candidate = String(n).padStart(6, '0');
  } while (valid.has(candidate));
  return candidate;
}

interface TotpRow {
  totp_secret: string | null;
  totp_enabled: boolean;
  totp_last_step: number | null;
}

async function totpRow(userId: string): Promise<TotpRow> {
  const row = await t.database.db.selectFrom('users').select(['totp_secret', 'totp_enabled', 'totp_last_step']).where('id', '=', userId).executeTakeFirst();
  assert.ok(row, `user ${userId}`);
  return row;
}

/** A signed-up user with 2FA on; the clock then moves one step past the code that enabled it. */
async function enrolled(orgName = 'Two Factor'): Promise<SignedUp & { secret: string; recoveryCodes: string[] }> {
  const user = await signUp(t, orgName);
  const setup = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const enable = await user.client.post('/v1/auth/totp/enable', { code: await codeAt(setup.body.secret) });
  assert.equal(enable.status, 200, JSON.stringify(enable.body));
  advance(1);
  return { ...user, secret: setup.body.secret, recoveryCodes: enable.body.recoveryCodes };
}

const login = (email: string, totp?: string, password = strongPassword) =>
  t.client().post('/v1/auth/login', { email, password, ...(totp === undefined ? {} : { totp }) }, fromIp);
const disable = (user: SignedUp, body: unknown) => user.client.post('/v1/auth/totp/disable', body, fromIp);

describe('setup and enable', () => {
  it('setup returns the secret once (no-store), stores only a ciphertext, and never shows it again', async () => {
    const user = await signUp(t);
    const r = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.match(r.body.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(r.body.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(decodeURIComponent(r.body.otpauthUri.split('?')[0]), `otpauth://totp/Palisade:${user.email}`);
    assert.equal(uri.searchParams.get('issuer'), 'Palisade');
    assert.equal(uri.searchParams.get('secret'), r.body.secret);

    const row = await totpRow(user.userId);
    assert.match(row.totp_secret ?? '', /^v1\.o\.\d+\./);
    assert.equal(row.totp_secret?.includes(r.body.secret), false);
    assert.equal(row.totp_enabled, false, 'pending until enabled');
    assert.equal(await t.services.crypto.cipher.decrypt(row.totp_secret ?? '', totpAad(user.userId)), r.body.secret);

    const me = await user.client.get('/v1/me');
    assert.equal(me.body.user.totpEnabled, false);
    assert.equal(JSON.stringify(me.body).includes(r.body.secret), false);
  });

  it('setup again replaces the pending secret; only a code of the new one enables', async () => {
    const user = await signUp(t);
    const first = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    const second = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    assert.notEqual(first.body.secret, second.body.secret);
    const pending = await totpRow(user.userId);
    assert.equal(await t.services.crypto.cipher.decrypt(pending.totp_secret ?? '', totpAad(user.userId)), second.body.secret);

    const stale = await user.client.post('/v1/auth/totp/enable', { code: await codeAt(first.body.secret) });
    assert.equal(stale.status, 401);
    assert.equal(stale.body.code, 'invalid_credentials');
    assert.deepEqual(await totpRow(user.userId), pending, 'a refused enable writes nothing');

    const enablingCode = await codeAt(second.body.secret);
    const ok = await user.client.post('/v1/auth/totp/enable', { code: enablingCode });
    assert.equal(ok.status, 200);
    assert.equal((await login(user.email, enablingCode)).body.code, 'invalid_credentials', 'the enabling code cannot sign in');
    const row = await totpRow(user.userId);
    assert.equal(row.totp_enabled, true);
    assert.equal(row.totp_secret, pending.totp_secret);
    assert.equal(row.totp_last_step, currentStep(), 'the enabling code is used up');
    const me = await user.client.get('/v1/me');
    assert.equal(me.body.user.totpEnabled, true);
    assert.equal(JSON.stringify(me.body).includes(second.body.secret), false);
  });

  it('enable without a pending secret is a conflict', async () => {
    const user = await signUp(t);
    const r = await user.client.post('/v1/auth/totp/enable', { code: '123456' });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'conflict');
  });

  it('setup when 2FA is already on: 409 and the secret stays', async () => {
    const user = await enrolled();
    const before = await totpRow(user.userId);
    const r = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'conflict');
    assert.equal(JSON.stringify(r.body).includes('secret":'), false);
    assert.deepEqual(await totpRow(user.userId), before);
  });

  it('enable and disable are audited in every organisation the user belongs to', async () => {
    const user = await enrolled('Home');
    const other = await signUp(t, 'Other');
    await joinOrg(other.client, other.orgId, user, 'viewer');
    const off = await disable(user, { password: strongPassword, code: await codeAt(user.secret) });
    assert.equal(off.status, 204, JSON.stringify(off.body));
    const actions = async (client: SignedUp['client'], orgId: string): Promise<string[]> => {
      const r = await client.get(`/v1/orgs/${orgId}/audit-log`);
      return r.body.entries.filter((e: { action: string }) => e.action.startsWith('user.totp_')).map((e: { action: string; target: { id: string } }) => `${e.action}:${e.target.id}`);
    };
    assert.deepEqual((await actions(user.client, user.orgId)).sort(), [`user.totp_disabled:${user.userId}`, `user.totp_enabled:${user.userId}`]);
    assert.deepEqual(await actions(other.client, other.orgId), [`user.totp_disabled:${user.userId}`], 'joined after enabling');
    const log = JSON.stringify((await user.client.get(`/v1/orgs/${user.orgId}/audit-log`)).body);
    assert.equal(log.includes(user.secret), false);
  });
});

describe('re-authentication, and the other sessions', () => {
  it('setup needs the current password: without it or with a wrong one nothing is written', async () => {
    const user = await signUp(t);
    const before = await totpRow(user.userId);
    const none = await user.client.post('/v1/auth/totp/setup', {}, fromIp);
    assert.equal(none.status, 400);
    assert.equal(none.body.code, 'invalid_request');
    const wrong = await user.client.post('/v1/auth/totp/setup', { password: 'wrong-password-here' }, fromIp);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'invalid_credentials');
    assert.equal(JSON.stringify(wrong.body).includes('secret'), false);
    assert.deepEqual(await totpRow(user.userId), before);
    assert.equal(before.totp_secret, null);
  });

  it('wrong passwords on setup feed the login throttle', async () => {
    const user = await signUp(t);
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      assert.equal((await user.client.post('/v1/auth/totp/setup', { password: 'wrong-password-here' }, fromIp)).status, 401);
    }
    const blocked = await user.client.post('/v1/auth/totp/setup', { password: strongPassword }, fromIp);
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'too_many_attempts');
    assert.equal((await totpRow(user.userId)).totp_secret, null);
    assert.equal((await login(user.email)).status, 429, 'sign-in is throttled as well');
  });

  it('enabling ends the other sessions at once and keeps the current one', async () => {
    const user = await signUp(t);
    const other = t.client();
    assert.equal((await other.post('/v1/auth/login', { email: user.email, password: strongPassword }, fromIp)).status, 200);
    const setup = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    assert.equal((await other.get('/v1/me')).status, 200, 'setup alone ends nothing');
    assert.equal((await user.client.post('/v1/auth/totp/enable', { code: await codeAt(setup.body.secret) })).status, 200);
    const ended = await other.get('/v1/me');
    assert.equal(ended.status, 401);
    assert.equal(ended.body.code, 'unauthenticated');
    assert.equal((await user.client.get('/v1/me')).status, 200);
  });

  it('disabling ends the other sessions at once and keeps the current one', async () => {
    const user = await enrolled();
    const other = t.client();
    const signIn = await other.post('/v1/auth/login', { email: user.email, password: strongPassword, totp: await codeAt(user.secret) }, fromIp);
    assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
    advance(1);
    assert.equal((await disable(user, { password: strongPassword, code: await codeAt(user.secret) })).status, 204);
    assert.equal((await other.get('/v1/me')).status, 401);
    assert.equal((await user.client.get('/v1/me')).status, 200);
  });
});

describe('login with 2FA on', () => {
  it('needs the code: totp_required without, invalid_credentials with a wrong one, a session with the right one', async () => {
    const user = await enrolled();
    const without = await login(user.email);
    assert.equal(without.status, 401);
    assert.equal(without.body.code, 'totp_required');
    assert.equal(without.headers.getSetCookie().length, 0);

    const wrong = await login(user.email, await wrongCode(user.secret));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'invalid_credentials');
    assert.equal(wrong.headers.getSetCookie().length, 0);

    const client = t.client();
    const ok = await client.post('/v1/auth/login', { email: user.email, password: strongPassword, totp: await codeAt(user.secret) }, fromIp);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await client.get('/v1/me')).status, 200);
  });

  it('a wrong password never reveals whether 2FA is on', async () => {
    const on = await enrolled();
    const off = await signUp(t);
    for (const totp of [undefined, '123456']) {
      const a = await login(on.email, totp, 'wrong-password-here');
      const b = await login(off.email, totp, 'wrong-password-here');
      assert.equal(a.status, 401);
      assert.deepEqual([a.body.code, a.body.detail], [b.body.code, b.body.detail]);
      assert.equal(a.body.code, 'invalid_credentials');
    }
    // Nor does a wrong password with the right code: the code is not even looked at.
    const c = await login(on.email, await codeAt(on.secret), 'wrong-password-here');
    assert.equal(c.body.code, 'invalid_credentials');
    assert.equal((await totpRow(on.userId)).totp_last_step, currentStep() - 1, 'the code was not used up');
  });

  it('refuses a replayed code and any code of an earlier step', async () => {
    const user = await enrolled();
    const code = await codeAt(user.secret);
    assert.equal((await login(user.email, code)).status, 200);
    assert.equal((await totpRow(user.userId)).totp_last_step, currentStep());
    const replay = await login(user.email, code);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'invalid_credentials');
    const earlier = await login(user.email, await codeAt(user.secret, -1));
    assert.equal(earlier.status, 401, 'a valid code of an earlier step is refused too');
    advance(1);
    assert.equal((await login(user.email, await codeAt(user.secret))).status, 200, 'the next step works');
  });

  it('allows ±1 step of clock drift and refuses ±2', async () => {
    const user = await enrolled();
    advance(10);
    assert.equal((await login(user.email, await codeAt(user.secret, -1))).status, 200, '1 step behind');
    assert.equal((await totpRow(user.userId)).totp_last_step, currentStep() - 1);
    assert.equal((await login(user.email, await codeAt(user.secret, 1))).status, 200, '1 step ahead');
    assert.equal((await totpRow(user.userId)).totp_last_step, currentStep() + 1);
    advance(10);
    for (const offset of [-2, 2]) {
      const r = await login(user.email, await codeAt(user.secret, offset));
      assert.equal(r.status, 401, `${offset} steps`);
      assert.equal(r.body.code, 'invalid_credentials');
    }
    assert.equal((await totpRow(user.userId)).totp_last_step, currentStep() - 9, 'refused codes write nothing');
  });

  it('wrong codes count as failed attempts: past the limit even the right code gets too_many_attempts', async () => {
    const user = await enrolled();
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      const r = await login(user.email, await wrongCode(user.secret));
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'invalid_credentials');
    }
    const blocked = await login(user.email, await codeAt(user.secret));
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'too_many_attempts');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    assert.equal((await totpRow(user.userId)).totp_last_step, currentStep() - 1, 'the right code was not used up');
  });

  it('code guesses spread over many addresses meet the same limit: second-factor attempts are counted per account', async () => {
    const user = await enrolled();
    const elsewhere = () => ({ 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` });
    const guess = async (totp: string) => t.client().post('/v1/auth/login', { email: user.email, password: strongPassword, totp }, elsewhere());
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) assert.equal((await guess(await wrongCode(user.secret))).status, 401);
    const blocked = await guess(await codeAt(user.secret));
    assert.equal(blocked.status, 429, 'from a fresh address too');
    assert.equal(blocked.body.code, 'too_many_attempts');
  });
});

describe('disable', () => {
  it('needs both the password and a fresh code, then forgets the secret', async () => {
    const user = await enrolled();
    const before = await totpRow(user.userId);
    const wrongPassword = await disable(user, { password: 'wrong-password-here', code: await codeAt(user.secret) });
    assert.equal(wrongPassword.status, 401);
    assert.equal(wrongPassword.body.code, 'invalid_credentials');
    const badCode = await disable(user, { password: strongPassword, code: await wrongCode(user.secret) });
    assert.equal(badCode.status, 401);
    assert.deepEqual(await totpRow(user.userId), before);

    const used = await codeAt(user.secret);
    assert.equal((await login(user.email, used)).status, 200);
    const replay = await disable(user, { password: strongPassword, code: used });
    assert.equal(replay.status, 401, 'a code used to sign in cannot disable');
    assert.equal((await totpRow(user.userId)).totp_enabled, true);

    advance(1);
    const ok = await disable(user, { password: strongPassword, code: await codeAt(user.secret) });
    assert.equal(ok.status, 204, JSON.stringify(ok.body));
    assert.deepEqual(await totpRow(user.userId), { totp_secret: null, totp_enabled: false, totp_last_step: null });
    assert.equal((await user.client.get('/v1/me')).body.user.totpEnabled, false);
    assert.equal((await login(user.email)).status, 200, 'the password alone signs in again');
    const again = await disable(user, { password: strongPassword, code: await codeAt(user.secret) });
    assert.equal(again.status, 409);
  });

  it('wrong passwords or codes on disable feed the login throttle', async () => {
    const user = await enrolled();
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      assert.equal((await disable(user, { password: strongPassword, code: await wrongCode(user.secret) })).status, 401);
    }
    const blocked = await disable(user, { password: strongPassword, code: await codeAt(user.secret) });
    assert.equal(blocked.status, 429);
    assert.equal((await totpRow(user.userId)).totp_enabled, true);
    assert.equal((await login(user.email, await codeAt(user.secret))).status, 429, 'sign-in is throttled as well');
  });
});

describe('code guesses on disable and recovery-code renewal', () => {
  it('meet the same per-account limit as sign-in, whatever address they come from', async () => {
    const user = await enrolled();
    const elsewhere = () => ({ 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` });
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      const path = i % 2 === 0 ? '/v1/auth/totp/disable' : '/v1/auth/totp/recovery-codes';
      assert.equal((await user.client.post(path, { password: strongPassword, code: await wrongCode(user.secret) }, elsewhere())).status, 401);
    }
    const blocked = await user.client.post('/v1/auth/totp/disable', { password: strongPassword, code: await codeAt(user.secret) }, elsewhere());
    assert.equal(blocked.status, 429, 'from a fresh address too');
    assert.equal(blocked.body.code, 'too_many_attempts');
    assert.equal((await totpRow(user.userId)).totp_enabled, true);
  });
});

describe('what a stolen session alone can do', () => {
  it('cannot guess a code of a pending secret: enable counts per account, and past the limit 2FA stays off', async () => {
    const user = await signUp(t);
    const setup = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    const elsewhere = () => ({ 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` });
    const before = await totpRow(user.userId);
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      const r = await user.client.post('/v1/auth/totp/enable', { code: await wrongCode(setup.body.secret) }, elsewhere());
      assert.equal(r.status, 401);
    }
    const blocked = await user.client.post('/v1/auth/totp/enable', { code: await codeAt(setup.body.secret) }, elsewhere());
    assert.equal(blocked.status, 429, 'from a fresh address too');
    assert.equal(blocked.body.code, 'too_many_attempts');
    assert.deepEqual(await totpRow(user.userId), before, '2FA is still off, nothing written');
  });

  it("cannot spend the account's code allowance without the password, so its owner still signs in", async () => {
    const user = await enrolled();
    const elsewhere = () => ({ 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` });
    for (let i = 0; i < 3 * THROTTLE_LIMIT; i += 1) {
      const path = ['/v1/auth/totp/disable', '/v1/auth/totp/recovery-codes', '/v1/auth/password'][i % 3] ?? '';
      const body = path === '/v1/auth/password' ? { currentPassword: 'not-the-password', newPassword: 'another-long-passphrase-93', code: '000000' } : { password: 'not-the-password', code: '000000' };
      const r = await user.client.post(path, body, elsewhere());
      assert.equal(r.status, 401, `${path}: ${JSON.stringify(r.body)}`);
    }
    const owner = await t.client().post('/v1/auth/login', { email: user.email, password: strongPassword, totp: await codeAt(user.secret) }, elsewhere());
    assert.equal(owner.status, 200, JSON.stringify(owner.body));
  });
});

describe('turning 2FA on and off again', () => {
  it("gives the address no sign-in attempts back that it never took (they would buy guesses at others' passwords)", async () => {
    const perIp = 3;
    const own = await startTestApp({ clock, loginThrottle: { perIp }, config: { trustProxy: true } });
    try {
      const address = { 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` };
      const me = await signUp(own, 'Looping');
      const victim = await signUp(own, 'Victim', 'victim');
      for (let loop = 0; loop < 3; loop += 1) {
        const setup = await me.client.post('/v1/auth/totp/setup', { password: strongPassword }, address);
        assert.equal(setup.status, 200, JSON.stringify(setup.body));
        const enable = await me.client.post('/v1/auth/totp/enable', { code: await codeAt(setup.body.secret) }, address);
        assert.equal(enable.status, 200, JSON.stringify(enable.body));
        const off = await me.client.post('/v1/auth/totp/disable', { password: strongPassword, code: enable.body.recoveryCodes[0] }, address);
        assert.equal(off.status, 204, JSON.stringify(off.body));
      }
      let admitted = 0;
      for (let i = 0; i < perIp + 3; i += 1) {
        const r = await own.client().post('/v1/auth/login', { email: victim.email, password: `wrong-guess-${i}` }, address);
        if (r.status === 401) admitted += 1;
        else assert.equal(r.status, 429);
      }
      assert.equal(admitted, perIp, 'the address gets its allowance of wrong guesses, no more');
    } finally {
      await own.close();
    }
  });
});

describe('who may call the TOTP routes', () => {
  const routes = async (secret: string): Promise<Array<{ path: string; body?: unknown }>> => [
    { path: '/v1/auth/totp/setup', body: { password: strongPassword } },
    { path: '/v1/auth/totp/enable', body: { code: await codeAt(secret) } },
    { path: '/v1/auth/totp/disable', body: { password: strongPassword, code: await codeAt(secret) } },
  ];

  /** Everything a refused request could have changed: the user's TOTP columns and the audit log. */
  async function snapshot(userId: string): Promise<unknown> {
    return { row: await totpRow(userId), audit: await countRows(t, 'audit_log') };
  }

  it('an API key gets 403, anonymous callers 401, a missing CSRF token 403; nothing is written', async () => {
    // One user with a pending secret (enable could succeed) and one with 2FA on (disable could).
    const pending = await signUp(t);
    const setup = await pending.client.post('/v1/auth/totp/setup', { password: strongPassword });
    const on = await enrolled();
    const key = await on.client.post(`/v1/orgs/${on.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read', 'keys:manage'] });
    assert.equal(key.status, 201);
    const apiKey = t.client();
    apiKey.bearer = key.body.secret;

    for (const [user, secret] of [[pending, setup.body.secret], [on, on.secret]] as const) {
      for (const { path, body } of await routes(secret)) {
        const before = await snapshot(user.userId);
        const byKey = await apiKey.post(path, body);
        assert.equal(byKey.status, 403, `${path} ${JSON.stringify(byKey.body)}`);
        assert.equal(byKey.body.code, 'forbidden');
        const anonymous = await t.client().post(path, body);
        assert.equal(anonymous.status, 401, path);
        assert.equal(anonymous.body.code, 'unauthenticated');
        const noCsrf = await user.client.post(path, body, { 'x-csrf-token': '' });
        assert.equal(noCsrf.status, 403, path);
        assert.equal(noCsrf.body.code, 'csrf_failed');
        assert.deepEqual(await snapshot(user.userId), before, `${path}: nothing written`);
      }
    }
  });

  it('malformed bodies get 400 invalid_request and write nothing', async () => {
    const pending = await signUp(t);
    await pending.client.post('/v1/auth/totp/setup', { password: strongPassword });
    const on = await enrolled();
    const badCodes: unknown[] = ['12345', '1234567', 'abcdef', ' 123456', '１２３４５６', '12345\n', 123456, null];
    const cases: Array<[SignedUp, string, unknown]> = [
      [pending, '/v1/auth/totp/setup', {}],
      [pending, '/v1/auth/totp/setup', { password: 123 }],
      [pending, '/v1/auth/totp/setup', { password: 'x'.repeat(300) }],
      [pending, '/v1/auth/totp/setup', { password: strongPassword, extra: true }],
      ...badCodes.map((code): [SignedUp, string, unknown] => [pending, '/v1/auth/totp/enable', { code }]),
      [pending, '/v1/auth/totp/enable', {}],
      [pending, '/v1/auth/totp/enable', { code: '123456', extra: true }],
      ...badCodes.map((code): [SignedUp, string, unknown] => [on, '/v1/auth/totp/disable', { password: strongPassword, code }]),
      [on, '/v1/auth/totp/disable', { password: strongPassword }],
      [on, '/v1/auth/totp/disable', { code: '123456' }],
      [on, '/v1/auth/totp/disable', { password: 'x'.repeat(300), code: '123456' }],
      [on, '/v1/auth/totp/disable', 'not json'],
    ];
    for (const [user, path, body] of cases) {
      const before = await snapshot(user.userId);
      const r = await user.client.post(path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'invalid_request');
      assert.deepEqual(await snapshot(user.userId), before, `${path} ${JSON.stringify(body)}`);
    }
    for (const totp of ['12345', 'abcdef', '1234567']) {
      const r = await login(on.email, totp);
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'invalid_request');
    }
  });
});

describe('the secret at rest', () => {
  it('never reaches raw storage in the clear (PGlite files or PostgreSQL tables)', async () => {
    const user = await signUp(t);
    const pending = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    assert.deepEqual(await scanForPlaintext(t, pending.body.secret), [], 'the pending secret is in raw storage');
    const on = await enrolled();
    assert.deepEqual(await scanForPlaintext(t, on.secret), [], 'the enabled secret is in raw storage');
    assert.notDeepEqual(await scanForPlaintext(t, on.email), [], 'the scan does see the users table (e-mail addresses are plaintext)');
  });

  it("is bound to its user's row: another user's ciphertext copied in does not decrypt", async () => {
    const a = await enrolled();
    const b = await enrolled();
    const aCiphertext = (await totpRow(a.userId)).totp_secret ?? '';
    await t.database.db.updateTable('users').set({ totp_secret: aCiphertext }).where('id', '=', b.userId).execute();
    await assert.rejects(t.services.crypto.cipher.decrypt(aCiphertext, totpAad(b.userId)), (e: unknown) => isCryptoError(e, 'decrypt_failed'));
    for (const secret of [a.secret, b.secret]) {
      const r = await login(b.email, await codeAt(secret));
      // An integrity failure, not a wrong code: refused as an internal error, which the log records.
      assert.equal(r.status, 500, JSON.stringify(r.body));
      assert.equal(r.body.code, 'internal');
      assert.equal(r.headers.getSetCookie().length, 0, 'no session');
      assert.equal(JSON.stringify(r.body).includes(a.secret), false);
    }
    assert.equal((await login(a.email, await codeAt(a.secret))).status, 200, 'the owner of the ciphertext is unaffected');
  });

  it('keys rotate-org platform re-encrypts TOTP secrets; rotating a real organisation leaves them alone', async () => {
    const user = await enrolled();
    const deps = {
      db: t.database.db,
      keyring: t.services.crypto.keyring,
      cipher: t.services.crypto.cipher,
      checkpoints: createSqlCheckpointStore(t.database.db),
      store: createKeysStore(t.database.db),
      columns: encryptedColumns,
      announce: async () => undefined,
      audit: async () => undefined,
    };
    const before = (await totpRow(user.userId)).totp_secret ?? '';
    const org = await rotateOrg(deps, user.orgId);
    assert.equal(org.columns.some((c) => c.table === 'users'), false);
    assert.equal((await totpRow(user.userId)).totp_secret, before);

    const platform = await rotateOrg(deps, PLATFORM_ORG_ID);
    const users = platform.columns.find((c) => c.table === 'users' && c.column === 'totp_secret');
    assert.ok(users && users.reencrypted > 0, JSON.stringify(platform.columns));
    const after = (await totpRow(user.userId)).totp_secret ?? '';
    assert.equal(parseCiphertext(after, PLATFORM_ORG_ID).version, platform.version);
    assert.ok(parseCiphertext(before, PLATFORM_ORG_ID).version < platform.version);
    assert.equal((await login(user.email, await codeAt(user.secret))).status, 200, 'the re-encrypted secret still verifies');
  });
});

describe('storage constraints', () => {
  it('a CHECK constraint refuses a plaintext secret in users.totp_secret', async () => {
    const user = await signUp(t);
    await assert.rejects(sql`UPDATE users SET totp_secret = ${'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'} WHERE id = ${user.userId}`.execute(t.database.db));
  });
});
