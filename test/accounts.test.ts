import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { countRows, signUp, startTestApp, strongPassword, uniqueEmail, type TestApp, joinOrg } from './helpers/harness.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp({ loginThrottle: { perAccount: 3 } });
});
after(() => t.close());

describe('signup and login', () => {
  it('creates a user, an organisation they own, and an HttpOnly SameSite=Lax session cookie', async () => {
    const c = t.client();
    const email = uniqueEmail();
    const r = await c.post('/v1/auth/signup', { email, password: strongPassword, orgName: 'Globex' });
    assert.equal(r.status, 201);
    assert.equal(r.body.user.email, email);
    assert.match(r.body.org.id, /^org_/);
    assert.ok(r.body.csrfToken);
    const cookie = r.headers.getSetCookie()[0] ?? '';
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.doesNotMatch(cookie, /Secure/i, 'no Secure flag over plain HTTP');
    const me = await c.get('/v1/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.orgs.map((o: { role: string }) => o.role), ['owner']);
    assert.equal(me.body.user.email, email);
    assert.equal(JSON.stringify(me.body).includes('password'), false);
  });

  it('stores only a hash of the session token and an argon2id password hash', async () => {
    const { client } = await signUp(t);
    const token = [...client.cookies.values()][0] ?? '';
    const { sql } = await import('kysely');
    const rows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sessions WHERE token_hash = ${token}`.execute(t.database.db);
    assert.equal(rows.rows[0]?.n, 0);
    const users = await sql<{ h: string }>`SELECT password_hash AS h FROM users LIMIT 1`.execute(t.database.db);
    assert.match(users.rows[0]?.h ?? '', /^\$argon2id\$/);
  });

  // On PostgreSQL the three really race (the check before the write cannot see the others' rows);
  // PGlite's single connection runs them one after another, so there it checks the outcome only.
  it('two sign-ups racing for one address: one account, and the other gets 409, not a 500', async () => {
    const email = uniqueEmail();
    const before = await countRows(t, 'users');
    const replies = await Promise.all([1, 2, 3].map(() => t.client().post('/v1/auth/signup', { email, password: strongPassword, orgName: 'Race' })));
    const statuses = replies.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 409, 409], JSON.stringify(replies.map((r) => r.body)));
    for (const r of replies.filter((x) => x.status === 409)) assert.equal(r.body.code, 'conflict');
    assert.equal(await countRows(t, 'users'), before + 1);
  });

  it('refuses an existing e-mail address, a short password and a common password without writing', async () => {
    const { email } = await signUp(t);
    const before = await countRows(t, 'users');
    const dup = await t.client().post('/v1/auth/signup', { email: email.toUpperCase(), password: strongPassword, orgName: 'X' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'conflict');
    const short = await t.client().post('/v1/auth/signup', { email: uniqueEmail(), password: 'short', orgName: 'X' });
    assert.equal(short.status, 400);
    assert.equal(short.body.code, 'weak_password');
    const common = await t.client().post('/v1/auth/signup', { email: uniqueEmail(), password: 'Password1234!', orgName: 'X' });
    assert.equal(common.status, 400);
    assert.equal(common.body.code, 'weak_password');
    assert.equal(await countRows(t, 'users'), before);
    assert.equal(await countRows(t, 'orgs'), before > 0 ? await countRows(t, 'orgs') : 0);
  });

  it('logs in with the right password and refuses a wrong one with invalid_credentials', async () => {
    const { email } = await signUp(t);
    const c = t.client();
    const bad = await c.post('/v1/auth/login', { email, password: 'wrong-password-here' });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.code, 'invalid_credentials');
    assert.equal(bad.headers.get('content-type')?.startsWith('application/problem+json'), true);
    const unknown = await c.post('/v1/auth/login', { email: uniqueEmail(), password: strongPassword });
    assert.equal(unknown.body.code, 'invalid_credentials', 'unknown accounts look the same as wrong passwords');
    const ok = await c.post('/v1/auth/login', { email, password: strongPassword });
    assert.equal(ok.status, 200);
    assert.equal((await c.get('/v1/me')).status, 200);
  });

  it('throttles login after repeated failures for the account, even with the right password', async () => {
    const { email } = await signUp(t);
    const c = t.client();
    for (let i = 0; i < 3; i++) assert.equal((await c.post('/v1/auth/login', { email, password: 'wrong-password-here' })).status, 401);
    const blocked = await c.post('/v1/auth/login', { email, password: strongPassword });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'too_many_attempts');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  });

  it('logout ends the session at once', async () => {
    const { client } = await signUp(t);
    const out = await client.post('/v1/auth/logout');
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0] ?? '', /^palisade_session=;.*Path=\/.*HttpOnly.*SameSite=Lax/i);
    const me = await client.get('/v1/me');
    assert.equal(me.status, 401);
    assert.equal(me.body.code, 'unauthenticated');
  });
});

describe('sessions', () => {
  it('lists sessions, revokes one, and the revoked one fails on its very next request', async () => {
    const { client: first, email } = await signUp(t);
    const second = t.client();
    await second.post('/v1/auth/login', { email, password: strongPassword });
    const list = await first.get('/v1/auth/sessions');
    assert.equal(list.body.sessions.length, 2);
    const other = list.body.sessions.find((s: { current: boolean }) => !s.current);
    assert.equal((await second.get('/v1/me')).status, 200);
    assert.equal((await first.delete(`/v1/auth/sessions/${other.id}`)).status, 204);
    assert.equal((await second.get('/v1/me')).status, 401);
    assert.equal((await first.get('/v1/me')).status, 200);
  });

  it('revokes all other sessions', async () => {
    const { client: first, email } = await signUp(t);
    const others = [t.client(), t.client()];
    for (const c of others) await c.post('/v1/auth/login', { email, password: strongPassword });
    const r = await first.delete('/v1/auth/sessions');
    assert.equal(r.body.revoked, 2);
    for (const c of others) assert.equal((await c.get('/v1/me')).status, 401);
    assert.equal((await first.get('/v1/me')).status, 200);
  });

  it("cannot revoke another user's session (404)", async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const bSessions = await b.client.get('/v1/auth/sessions');
    const r = await a.client.delete(`/v1/auth/sessions/${bSessions.body.sessions[0].id}`);
    assert.equal(r.status, 404);
    assert.equal((await b.client.get('/v1/me')).status, 200);
  });
});

describe('account events in the audit log', () => {
  it('records sign-ins, refused sign-ins of a known account, session revocations and sign-out in every organisation of the user', async () => {
    const owner = await signUp(t, 'Audited Home');
    const other = await signUp(t, 'Audited Second');
    await joinOrg(other.client, other.orgId, owner, 'viewer');
    const actions = async (orgId: string, client = owner.client): Promise<string[]> => {
      const r = await client.get(`/v1/orgs/${orgId}/audit-log`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.entries.filter((e: { target?: { id?: string } }) => e.target?.id === owner.userId).map((e: { action: string }) => e.action);
    };
    const auditRows = () => countRows(t, 'audit_log');

    const before = await auditRows();
    assert.equal((await t.client().post('/v1/auth/login', { email: uniqueEmail(), password: 'wrong-password-here' })).status, 401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await auditRows(), before, 'an unknown address has nowhere to be audited');

    assert.equal((await t.client().post('/v1/auth/login', { email: owner.email, password: 'wrong-password-here' })).status, 401);
    const second = t.client();
    assert.equal((await second.post('/v1/auth/login', { email: owner.email, password: strongPassword })).status, 200);
    const sessions = (await owner.client.get('/v1/auth/sessions')).body.sessions;
    const secondId = sessions.find((s: { current: boolean }) => !s.current).id;
    assert.equal((await owner.client.delete(`/v1/auth/sessions/${secondId}`)).status, 204);
    assert.equal((await t.client().post('/v1/auth/login', { email: owner.email, password: strongPassword })).status, 200);
    assert.equal((await owner.client.delete('/v1/auth/sessions')).body.revoked, 1);

    // A refused sign-in is audited after its reply (so its timing says nothing): wait for it.
    for (let i = 0; i < 50 && !(await actions(owner.orgId)).includes('user.login_failed'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const orgId of [owner.orgId, other.orgId]) {
      const client = orgId === owner.orgId ? owner.client : other.client;
      const got = await actions(orgId, client);
      for (const action of ['user.login_failed', 'user.login', 'user.session_revoked', 'user.sessions_revoked']) {
        assert.ok(got.includes(action), `${action} in ${orgId}: ${got.join(', ')}`);
      }
    }
    const entries = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log`)).body.entries;
    const failed = entries.find((e: { action: string }) => e.action === 'user.login_failed');
    assert.equal(failed.metadata.reason, 'password');
    assert.equal(JSON.stringify(entries).includes('wrong-password-here'), false, 'no password in the log');

    assert.equal((await owner.client.post('/v1/auth/logout')).status, 204);
    assert.ok((await actions(other.orgId, other.client)).includes('user.logout'));
  });
});

describe('GET /v1/me stays true', () => {
  it('shows a new membership, a role change and a removal on the very next request', async () => {
    const a = await signUp(t, 'Home A');
    const b = await signUp(t, 'Home B');
    assert.equal((await b.client.get('/v1/me')).body.orgs.length, 1);
    await joinOrg(a.client, a.orgId, b, 'viewer');
    const added = await b.client.get('/v1/me');
    assert.deepEqual(added.body.orgs.find((o: { id: string }) => o.id === a.orgId)?.role, 'viewer');
    await a.client.patch(`/v1/orgs/${a.orgId}/members/${b.userId}`, { role: 'editor' });
    assert.equal((await b.client.get('/v1/me')).body.orgs.find((o: { id: string }) => o.id === a.orgId)?.role, 'editor');
    await a.client.patch(`/v1/orgs/${a.orgId}`, { name: 'Renamed A' });
    assert.equal((await b.client.get('/v1/me')).body.orgs.find((o: { id: string }) => o.id === a.orgId)?.name, 'Renamed A');
    await a.client.delete(`/v1/orgs/${a.orgId}/members/${b.userId}`);
    assert.equal((await b.client.get('/v1/me')).body.orgs.some((o: { id: string }) => o.id === a.orgId), false);
  });
});

describe('CSRF', () => {
  it('refuses a cookie-authenticated state change without the CSRF token, and writes nothing', async () => {
    const { client, orgId } = await signUp(t);
    const before = await countRows(t, 'projects');
    const missing = await client.post(`/v1/orgs/${orgId}/projects`, { name: 'x' }, { 'x-csrf-token': '' });
    assert.equal(missing.status, 403);
    assert.equal(missing.body.code, 'csrf_failed');
    const wrong = await client.post(`/v1/orgs/${orgId}/projects`, { name: 'x' }, { 'x-csrf-token': 'forged-token-value' });
    assert.equal(wrong.body.code, 'csrf_failed');
    assert.equal(await countRows(t, 'projects'), before);
    const ok = await client.post(`/v1/orgs/${orgId}/projects`, { name: 'x' });
    assert.equal(ok.status, 201);
  });

  it("another session's CSRF token does not work", async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const r = await a.client.post(`/v1/orgs/${a.orgId}/projects`, { name: 'x' }, { 'x-csrf-token': b.client.csrfToken ?? '' });
    assert.equal(r.body.code, 'csrf_failed');
  });
});

describe('sign-up limit per address', () => {
  const PER_IP = 3;
  let h: TestApp;
  before(async () => {
    h = await startTestApp({ loginThrottle: { signupsPerIp: PER_IP }, config: { trustProxy: true } });
  });
  after(() => h.close());

  const signupFrom = (ip: string, email: string, password = strongPassword) => h.client().post('/v1/auth/signup', { email, password, orgName: 'Many' }, { 'x-forwarded-for': ip });

  it('counts every sign-up from an address (taken or refused e-mails too) and then refuses with 429, writing nothing', async () => {
    const ip = `2001:db8:51:${randomBytes(2).toString('hex')}::1`;
    const taken = (await signupFrom(`2001:db8:52:${randomBytes(2).toString('hex')}::1`, uniqueEmail())).body.user.email;
    const replies = [await signupFrom(ip, uniqueEmail()), await signupFrom(ip, taken), await signupFrom(ip, uniqueEmail(), 'password')];
    assert.deepEqual(replies.map((r) => r.status), [201, 409, 400], 'a new account, a taken address, a weak password');
    const users = await countRows(h, 'users');
    const orgs = await countRows(h, 'orgs');
    for (const email of [uniqueEmail(), taken]) {
      const r = await signupFrom(`${ip.slice(0, -3)}:abcd::2`, email); // the same /64
      assert.equal(r.status, 429, JSON.stringify(r.body));
      assert.equal(r.body.code, 'too_many_attempts');
      assert.ok(Number(r.headers.get('retry-after')) > 0);
      assert.doesNotMatch(JSON.stringify(r.body), /exists/, 'a refused sign-up does not say whether the address has an account');
    }
    assert.equal(await countRows(h, 'users'), users, 'no user');
    assert.equal(await countRows(h, 'orgs'), orgs, 'no organisation');
    assert.equal((await signupFrom(`2001:db8:53:${randomBytes(2).toString('hex')}::1`, uniqueEmail())).status, 201, 'another address is not affected');
  });
});

describe('login throttle', () => {
  const PER_ACCOUNT = 5;
  const PER_ACCOUNT_TOTAL = 12;
  const PER_IP = 25;
  let h: TestApp;
  before(async () => {
    h = await startTestApp({ loginThrottle: { perAccount: PER_ACCOUNT, perAccountTotal: PER_ACCOUNT_TOTAL, perIp: PER_IP }, config: { trustProxy: true } });
  });
  after(() => h.close());

  /** A /64 of the documentation range of its own, so no other test's attempts count against it. */
  const new64 = (): string => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
  const loginFrom = (ip: string, email: string, password: string) => h.client().post('/v1/auth/login', { email, password }, { 'x-forwarded-for': ip });

  it('counts before checking: of 20 parallel wrong logins only the limit get an answer', async () => {
    const { email } = await signUp(h);
    const ip = `${new64()}::1`;
    const replies = await Promise.all(Array.from({ length: 20 }, () => loginFrom(ip, email, 'wrong-password-here')));
    const codes = replies.map((r) => r.body.code);
    assert.equal(codes.filter((c) => c === 'invalid_credentials').length, PER_ACCOUNT);
    assert.equal(codes.filter((c) => c === 'too_many_attempts').length, 20 - PER_ACCOUNT);
    assert.ok(replies.filter((r) => r.status === 429).every((r) => Number(r.headers.get('retry-after')) > 0));
    assert.equal((await loginFrom(`${ip.slice(0, -3)}::2`, email, strongPassword)).status, 429, 'locked from that /64, right password or not');
    assert.equal((await loginFrom(`${new64()}::1`, email, strongPassword)).status, 200, 'the owner still signs in from elsewhere: a stranger cannot lock them out');
  });

  it('guesses spread over many addresses meet the account-wide ceiling: then the account is locked from anywhere', async () => {
    const { email } = await signUp(h);
    for (let i = 0; i < 4; i++) {
      const ip = `${new64()}::1`;
      await Promise.all(Array.from({ length: PER_ACCOUNT }, () => loginFrom(ip, email, 'wrong-password-here')));
    }
    // 4 addresses × 5 wrong guesses: 12 counted against the account, the rest refused.
    const fresh = await loginFrom(`${new64()}::1`, email, strongPassword);
    assert.equal(fresh.status, 429, JSON.stringify(fresh.body));
    assert.equal(fresh.body.code, 'too_many_attempts');
  });

  it('groups IPv6 clients by /64: two addresses of one /64 share the IP counter', async () => {
    const { email } = await signUp(h);
    const prefix = new64();
    // Different unknown accounts, so only the IP counter can run out.
    await Promise.all(Array.from({ length: PER_IP }, () => loginFrom(`${prefix}::1`, uniqueEmail(), 'wrong-password-here')));
    const neighbour = await loginFrom(`${prefix}:ffff:ffff:ffff:fffe`, email, strongPassword);
    assert.equal(neighbour.status, 429);
    assert.equal(neighbour.body.code, 'too_many_attempts');
    assert.equal((await loginFrom(`${new64()}::1`, email, strongPassword)).status, 200, 'another /64 is not affected');
  });

  it('successful logins give their point back: more than the IP limit of them pass', async () => {
    const { email } = await signUp(h);
    const ip = `${new64()}::1`;
    for (let i = 0; i < PER_IP + 2; i++) assert.equal((await loginFrom(ip, email, strongPassword)).status, 200, `login ${i + 1}`);
  });
});

describe('password checks, right ones too', () => {
  const CHECKS = 4;
  let h: TestApp;
  before(async () => {
    h = await startTestApp({ loginThrottle: { checksPerAccount: CHECKS, checksPerIp: 6 }, config: { trustProxy: true } });
  });
  after(() => h.close());
  const loginFrom = (ip: string, email: string) => h.client().post('/v1/auth/login', { email, password: strongPassword }, { 'x-forwarded-for': ip });

  it('are limited per account and per address: signing in again and again cannot keep the hasher busy', async () => {
    const { email } = await signUp(h);
    for (let i = 0; i < CHECKS; i++) assert.equal((await loginFrom(`198.51.100.${i + 1}`, email)).status, 200, `login ${i + 1}`);
    const refused = await loginFrom('198.51.100.99', email);
    assert.equal(refused.status, 429, 'the account has had its checks');
    assert.equal(refused.body.code, 'too_many_attempts');
    const sessions = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ${email}`.execute(h.database.db);
    assert.equal(sessions.rows[0]?.n, CHECKS + 1, "the sign-up's and one per admitted login: none for the refused one");
    const other = await signUp(h);
    for (let i = 0; i < 6; i++) await loginFrom('203.0.113.50', i < 3 ? other.email : (await signUp(h)).email);
    assert.equal((await loginFrom('203.0.113.50', (await signUp(h)).email)).status, 429, 'the address has had its checks');
  });
});

describe('session cookie under TLS', () => {
  let h: TestApp;
  before(async () => {
    // An https PUBLIC_URL (or TLS, which makes the default one https) is what turns on Secure.
    h = await startTestApp({ config: { publicUrl: 'https://palisade.example' } });
  });
  after(() => h.close());

  it('logout clears the __Host- cookie with the attributes it was set with', async () => {
    const { client } = await signUp(h);
    assert.deepEqual([...client.cookies.keys()], ['__Host-palisade_session']);
    const r = await client.post('/v1/auth/logout');
    assert.equal(r.status, 204);
    const cleared = r.headers.getSetCookie().find((c) => c.startsWith('__Host-palisade_session=;')) ?? '';
    for (const attribute of [/; Secure/i, /; Path=\//i, /; HttpOnly/i, /; SameSite=Lax/i, /Expires=Thu, 01 Jan 1970/i]) assert.match(cleared, attribute);
    assert.doesNotMatch(cleared, /Domain=/i);
  });
});
