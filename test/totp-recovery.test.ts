/**
 * Recovery codes for two-factor sign-in: enabling returns ten (shown once, stored only as
 * hashes); each signs in once, also when two logins race with it; they are one user's only;
 * they stand in for the TOTP code to disable 2FA or to make a new set, which needs the password
 * too and invalidates the old set; wrong ones are throttled like wrong TOTP codes; who may call
 * the new route; audit entries without codes; nothing in the clear in raw storage.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { generate } from 'otplib';
import { countRows, signUp, startTestApp, strongPassword, type SignedUp, type TestApp, joinOrg } from './helpers/harness.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';

const STEP_MS = 30_000;
const THROTTLE_LIMIT = 5;
let nowMs = Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2;
const clock = { now: () => new Date(nowMs) };
const advance = (): void => {
  nowMs += STEP_MS;
};
// Failed attempts on purpose: from an address of this file's own (see test/totp.test.ts).
const fromIp = { 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` };
const SHAPE = /^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){3}$/;

let t: TestApp;
before(async () => {
  t = await startTestApp({ clock, loginThrottle: { perAccount: THROTTLE_LIMIT }, config: { trustProxy: true } });
});
after(() => t.close());

type Enrolled = SignedUp & { secret: string; codes: string[] };

const codeAt = (secret: string): Promise<string> => generate({ secret, epoch: Math.floor(nowMs / 1000) });
const normalized = (code: string): string => code.replaceAll('-', '');
const hashHex = (code: string): string => createHash('sha256').update(normalized(code)).digest('hex');
/** A well-formed recovery code that is nobody's (a collision would take 2^80 tries). */
const strangerCode = (): string => 'zzzz-' + [...randomBytes(12)].map((b) => 'abcdefghijkmnpqrstuvwxyz23456789'[b % 32]).join('').replace(/(.{4})(?=.)/g, '$1-');

async function enrolled(orgName = 'Recovery'): Promise<Enrolled> {
  const user = await signUp(t, orgName);
  const setup = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
  const enable = await user.client.post('/v1/auth/totp/enable', { code: await codeAt(setup.body.secret) });
  assert.equal(enable.status, 200, JSON.stringify(enable.body));
  advance();
  return { ...user, secret: setup.body.secret, codes: enable.body.recoveryCodes };
}

const login = (email: string, totp?: string, password = strongPassword) =>
  t.client().post('/v1/auth/login', { email, password, ...(totp === undefined ? {} : { totp }) }, fromIp);
/** Signs `user.client` in again with a code: a recovery code ends the session it had. */
const signInAgain = (user: SignedUp, totp: string) => user.client.post('/v1/auth/login', { email: user.email, password: strongPassword, totp }, fromIp);
const regenerate = (user: SignedUp, body: unknown) => user.client.post('/v1/auth/totp/recovery-codes', body, fromIp);
const disable = (user: SignedUp, body: unknown) => user.client.post('/v1/auth/totp/disable', body, fromIp);

/** The user's stored codes: hash (hex) → used or not. */
async function stored(userId: string): Promise<Record<string, boolean>> {
  const rows = await t.database.db.selectFrom('totp_recovery_codes').select(['code_hash', 'used_at']).where('user_id', '=', userId).execute();
  return Object.fromEntries(rows.map((r) => [Buffer.from(r.code_hash).toString('hex'), r.used_at !== null]));
}
const unused = async (userId: string): Promise<number> => Object.values(await stored(userId)).filter((used) => !used).length;

async function auditActions(client: SignedUp['client'], orgId: string): Promise<string[]> {
  const r = await client.get(`/v1/orgs/${orgId}/audit-log`);
  assert.equal(r.status, 200);
  return r.body.entries.map((e: { action: string }) => e.action).filter((a: string) => a.startsWith('user.totp_')).sort();
}

describe('enabling', () => {
  it('returns ten distinct well-formed codes this once (no-store), stored only as hashes', async () => {
    const user = await signUp(t);
    const setup = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    const r = await user.client.post('/v1/auth/totp/enable', { code: await codeAt(setup.body.secret) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(r.body), ['recoveryCodes']);
    const codes: string[] = r.body.recoveryCodes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, SHAPE);
    assert.deepEqual(await stored(user.userId), Object.fromEntries(codes.map((c) => [hashHex(c), false])), 'exactly their SHA-256 hashes, unused');

    const me = await user.client.get('/v1/me');
    assert.equal(me.body.user.recoveryCodesLeft, 10);
    for (const code of codes) assert.equal(JSON.stringify(me.body).includes(code.slice(0, 9)) || JSON.stringify(me.body).includes(normalized(code)), false);
  });

  it('a user without 2FA has none; the database refuses anything but a 32-byte hash', async () => {
    const user = await signUp(t);
    assert.equal((await user.client.get('/v1/me')).body.user.recoveryCodesLeft, 0);
    await assert.rejects(sql`INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES (${user.userId}, ${Buffer.from('abcdefghjkmnpqrs')})`.execute(t.database.db));
  });
});

describe('login with a recovery code', () => {
  it('works once, whatever the case, spaces and hyphens; a second use is refused', async () => {
    const user = await enrolled();
    const [first, second] = user.codes;
    assert.ok(first && second);
    const client = t.client();
    const ok = await client.post('/v1/auth/login', { email: user.email, password: strongPassword, totp: first }, fromIp);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await client.get('/v1/me')).status, 200);
    const again = await login(user.email, first);
    assert.equal(again.status, 401);
    assert.equal(again.body.code, 'invalid_credentials');
    assert.equal(again.headers.getSetCookie().length, 0);
    const last = t.client();
    const spaced = ` ${second.toUpperCase().replaceAll('-', ' ')} `;
    assert.equal((await last.post('/v1/auth/login', { email: user.email, password: strongPassword, totp: spaced }, fromIp)).status, 200, 'typed in capitals with spaces');
    assert.equal((await login(user.email, normalized(second))).status, 401, 'used, in any spelling');
    assert.equal((await last.get('/v1/me')).body.user.recoveryCodesLeft, 8);
    assert.equal(await unused(user.userId), 8);
  });

  it('signing in with one ends every session signed in before it, on the spot, and says so in the audit log', async () => {
    const user = await enrolled();
    const other = t.client();
    assert.equal((await other.post('/v1/auth/login', { email: user.email, password: strongPassword, totp: await codeAt(user.secret) }, fromIp)).status, 200);
    assert.equal((await other.get('/v1/me')).status, 200);
    const recovered = t.client();
    const r = await recovered.post('/v1/auth/login', { email: user.email, password: strongPassword, totp: user.codes[0] }, fromIp);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await recovered.get('/v1/me')).status, 200, 'the new session works');
    assert.equal((await other.get('/v1/me')).status, 401, 'a TOTP session from before ends');
    assert.equal((await user.client.get('/v1/me')).status, 401, 'and so does the first one');
    const entries = (await recovered.get(`/v1/orgs/${user.orgId}/audit-log`)).body.entries.map((e: { action: string }) => e.action);
    assert.ok(entries.includes('user.sessions_revoked'), entries.join(', '));
  });

  it("refuses another user's code and a stranger's, and spends nothing", async () => {
    const a = await enrolled();
    const b = await enrolled();
    const code = a.codes[2] ?? '';
    for (const attempt of [code, strangerCode()]) {
      const r = await login(b.email, attempt);
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'invalid_credentials');
    }
    assert.equal(await unused(a.userId), 10);
    assert.equal((await login(a.email, code)).status, 200, 'still good for its owner');
  });

  it('a wrong password with a valid code is refused like any wrong password, and the code is not spent', async () => {
    const user = await enrolled();
    const r = await login(user.email, user.codes[0], 'wrong-password-here');
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'invalid_credentials');
    assert.equal(await unused(user.userId), 10);
  });

  it('of two logins racing with one code, at most one gets in', async () => {
    const user = await enrolled();
    const code = user.codes[3] ?? '';
    const clients = Array.from({ length: THROTTLE_LIMIT - 1 }, () => t.client());
    const replies = await Promise.all(clients.map((c) => c.post('/v1/auth/login', { email: user.email, password: strongPassword, totp: code }, fromIp)));
    const statuses = replies.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array.from({ length: THROTTLE_LIMIT - 2 }, () => 401)], JSON.stringify(replies.map((r) => r.body)));
    assert.equal(await unused(user.userId), 9);
    const winner = clients[replies.findIndex((r) => r.status === 200)] as SignedUp['client'];
    assert.deepEqual(await auditActions(winner, user.orgId), ['user.totp_enabled', 'user.totp_recovery_code_used'], 'used once, audited once');
  });

  it('wrong codes count as failed attempts: past the limit even a right code gets too_many_attempts and is not spent', async () => {
    const user = await enrolled();
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      const r = await login(user.email, strangerCode());
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'invalid_credentials');
    }
    const blocked = await login(user.email, user.codes[0]);
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'too_many_attempts');
    assert.equal(await unused(user.userId), 10);
  });

  it('anything neither a 6-digit code nor shaped like a recovery code is a 400', async () => {
    const user = await enrolled();
    const code = user.codes[0] ?? '';
    for (const totp of [code.slice(0, -1), `${code}a`, code.replace(/[a-z]/, 'l'), code.replace(/[a-z]/, 'o'), code.replace(/[a-z]/, '0'), `${code}${' '.repeat(60)}`, 'abcdef', '12345']) {
      const r = await login(user.email, totp);
      assert.equal(r.status, 400, `${JSON.stringify(totp)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'invalid_request');
    }
    assert.equal(await unused(user.userId), 10);
  });
});

describe('a new set of codes', () => {
  it('needs the password and a code; a wrong one changes nothing', async () => {
    const user = await enrolled();
    const before = { codes: await stored(user.userId), audit: await countRows(t, 'audit_log') };
    const cases: Array<[unknown, number]> = [
      [{ password: 'wrong-password-here', code: await codeAt(user.secret) }, 401],
      [{ password: 'wrong-password-here', code: user.codes[0] }, 401],
      [{ password: strongPassword, code: strangerCode() }, 401],
      [{ password: strongPassword }, 400],
      [{ code: user.codes[0] }, 400],
      [{ password: strongPassword, code: 'abcdef' }, 400],
    ];
    for (const [body, status] of cases) {
      const r = await regenerate(user, body);
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(JSON.stringify(r.body).includes('recoveryCodes'), false);
    }
    // Nothing changed; only the three wrong proofs are recorded (a stolen session guessing leaves a trace).
    assert.deepEqual({ codes: await stored(user.userId), audit: await countRows(t, 'audit_log') }, { ...before, audit: before.audit + 3 });
    const refused = (await user.client.get(`/v1/orgs/${user.orgId}/audit-log?action=user.reauthentication_failed`)).body.entries;
    assert.deepEqual(refused.map((e: { metadata: { reason: string } }) => e.metadata.reason).sort(), ['password', 'password', 'second_factor']);
  });

  it('with a TOTP code: ten new codes (no-store); every old one stops working', async () => {
    const user = await enrolled();
    assert.equal((await signInAgain(user, user.codes[0] ?? '')).status, 200);
    const r = await regenerate(user, { password: strongPassword, code: await codeAt(user.secret) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const fresh: string[] = r.body.recoveryCodes;
    assert.equal(new Set(fresh).size, 10);
    for (const code of fresh) assert.match(code, SHAPE);
    assert.equal(fresh.some((c) => user.codes.includes(c)), false);
    assert.deepEqual(await stored(user.userId), Object.fromEntries(fresh.map((c) => [hashHex(c), false])), 'the used one is gone too');
    assert.equal((await user.client.get('/v1/me')).body.user.recoveryCodesLeft, 10);
    assert.equal((await login(user.email, user.codes[1])).status, 401, 'an old code');
    assert.equal((await signInAgain(user, fresh[0] ?? '')).status, 200, 'a new code');
    const replay = await regenerate(user, { password: strongPassword, code: await codeAt(user.secret) });
    assert.equal(replay.status, 401, 'the TOTP code was used up');
  });

  it('with a recovery code, which is used up with the rest', async () => {
    const user = await enrolled();
    const r = await regenerate(user, { password: strongPassword, code: user.codes[4]?.toUpperCase() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await unused(user.userId), 10);
    assert.equal((await login(user.email, user.codes[4])).status, 401);
    assert.equal((await regenerate(user, { password: strongPassword, code: user.codes[5] })).status, 401, 'an old code cannot make a set either');
  });

  it('is refused while 2FA is off', async () => {
    const user = await signUp(t);
    const r = await regenerate(user, { password: strongPassword, code: '123456' });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'conflict');
    assert.deepEqual(await stored(user.userId), {});
  });

  it('wrong passwords or codes feed the login throttle', async () => {
    const user = await enrolled();
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      assert.equal((await regenerate(user, { password: 'wrong-password-here', code: user.codes[0] })).status, 401);
    }
    const blocked = await regenerate(user, { password: strongPassword, code: user.codes[0] });
    assert.equal(blocked.status, 429);
    assert.equal(await unused(user.userId), 10);
    assert.equal((await login(user.email, user.codes[0])).status, 429, 'sign-in is throttled as well');
  });

  it('an API key gets 403, anonymous callers 401, a missing CSRF token 403; nothing is written', async () => {
    const user = await enrolled();
    const key = await user.client.post(`/v1/orgs/${user.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read', 'keys:manage'] });
    assert.equal(key.status, 201);
    const apiKey = t.client();
    apiKey.bearer = key.body.secret;
    const before = { codes: await stored(user.userId), audit: await countRows(t, 'audit_log') };
    const body = { password: strongPassword, code: user.codes[0] };
    const byKey = await apiKey.post('/v1/auth/totp/recovery-codes', body);
    assert.equal(byKey.status, 403);
    assert.equal(byKey.body.code, 'forbidden');
    const anonymous = await t.client().post('/v1/auth/totp/recovery-codes', body);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'unauthenticated');
    const noCsrf = await user.client.post('/v1/auth/totp/recovery-codes', body, { 'x-csrf-token': '' });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.code, 'csrf_failed');
    assert.deepEqual({ codes: await stored(user.userId), audit: await countRows(t, 'audit_log') }, before);
  });
});

describe('disabling with a recovery code', () => {
  it('turns 2FA off and deletes every code; enabling again makes a fresh set', async () => {
    const user = await enrolled();
    const used = await disable(user, { password: strongPassword, code: strangerCode() });
    assert.equal(used.status, 401);
    const off = await disable(user, { password: strongPassword, code: user.codes[6] });
    assert.equal(off.status, 204, JSON.stringify(off.body));
    assert.deepEqual(await stored(user.userId), {});
    assert.equal((await user.client.get('/v1/me')).body.user.totpEnabled, false);
    assert.equal((await login(user.email)).status, 200, 'the password alone signs in');

    const setup = await user.client.post('/v1/auth/totp/setup', { password: strongPassword });
    const on = await user.client.post('/v1/auth/totp/enable', { code: await codeAt(setup.body.secret) });
    assert.equal(on.status, 200);
    assert.equal(on.body.recoveryCodes.some((c: string) => user.codes.includes(c)), false);
    assert.equal(await unused(user.userId), 10);
    assert.equal((await login(user.email, user.codes[7])).status, 401, 'a code of the old set');
  });

  it('a used recovery code cannot disable', async () => {
    const user = await enrolled();
    assert.equal((await signInAgain(user, user.codes[0] ?? '')).status, 200);
    const r = await disable(user, { password: strongPassword, code: user.codes[0] });
    assert.equal(r.status, 401);
    assert.equal((await user.client.get('/v1/me')).body.user.totpEnabled, true);
    assert.equal(await unused(user.userId), 9);
  });

  it('a TOTP disable deletes the codes too', async () => {
    const user = await enrolled();
    assert.equal((await disable(user, { password: strongPassword, code: await codeAt(user.secret) })).status, 204);
    assert.deepEqual(await stored(user.userId), {});
  });

  it('racing with a new set: no error, and never codes left without 2FA', async () => {
    const user = await enrolled();
    const [off, fresh] = await Promise.all([
      disable(user, { password: strongPassword, code: user.codes[0] }),
      regenerate(user, { password: strongPassword, code: user.codes[1] }),
    ]);
    // Either may lose (a new set deletes the code disable was given; disable ends 2FA), never both.
    assert.ok([204, 401].includes(off.status) && [200, 401].includes(fresh.status), `${off.status} ${fresh.status}`);
    assert.ok(off.status === 204 || fresh.status === 200, `${off.status} ${fresh.status}`);
    const totpEnabled = (await user.client.get('/v1/me')).body.user.totpEnabled;
    assert.equal(totpEnabled, off.status !== 204);
    assert.equal(await unused(user.userId), totpEnabled ? 10 : 0);
    if (!totpEnabled) assert.deepEqual(await stored(user.userId), {});
  });
});

describe('audit and erasure', () => {
  it('enable, a used code, a new set and disable are audited in every organisation, without a code', async () => {
    const user = await enrolled('Home');
    const other = await signUp(t, 'Other');
    await joinOrg(other.client, other.orgId, user, 'viewer');
    assert.equal((await signInAgain(user, user.codes[0] ?? '')).status, 200);
    const fresh = await regenerate(user, { password: strongPassword, code: user.codes[1] });
    assert.equal(fresh.status, 200);
    const expected = ['user.totp_enabled', 'user.totp_recovery_code_used', 'user.totp_recovery_code_used', 'user.totp_recovery_codes_regenerated'];
    assert.deepEqual(await auditActions(user.client, user.orgId), expected);
    assert.deepEqual(await auditActions(other.client, other.orgId), expected.slice(1), 'joined after enabling');

    const log = JSON.stringify([(await user.client.get(`/v1/orgs/${user.orgId}/audit-log`)).body, (await other.client.get(`/v1/orgs/${other.orgId}/audit-log`)).body]);
    for (const code of [...user.codes, ...fresh.body.recoveryCodes]) {
      assert.equal(log.includes(code.slice(0, 9)) || log.includes(normalized(code)), false, code);
      assert.equal(log.includes(hashHex(code).slice(0, 16)), false, 'nor its hash');
    }
  });

  it("deleting a user deletes their codes (ON DELETE CASCADE); the tenant role cannot read them", async () => {
    const user = await enrolled();
    await assert.rejects(
      t.database.db.transaction().execute(async (tx) => {
        await sql`SELECT set_config('role', 'palisade_app', true)`.execute(tx);
        return sql`SELECT count(*) FROM totp_recovery_codes`.execute(tx);
      }),
      /permission denied/,
    );
    await sql`DELETE FROM users WHERE id = ${user.userId}`.execute(t.database.db);
    assert.deepEqual(await stored(user.userId), {});
  });
});

// Last: on PGlite the scans hold the event loop for seconds, which can reset a kept-alive connection of the next request.
describe('the codes at rest', () => {
  it('never reaches raw storage in the clear, as shown or as typed', async () => {
    const user = await enrolled();
    assert.equal((await login(user.email, user.codes[0]?.toUpperCase().replaceAll('-', ' '))).status, 200);
    for (const code of user.codes) assert.deepEqual(await scanForPlaintext(t, normalized(code)), [], code);
    for (const code of user.codes.slice(0, 2)) assert.deepEqual(await scanForPlaintext(t, code), [], code);
    assert.notDeepEqual(await scanForPlaintext(t, user.email), [], 'the scan does see the users table');
  });
});
