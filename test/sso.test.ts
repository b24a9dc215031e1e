/**
 * OpenID Connect single sign-on against a real provider on 127.0.0.1 (test/helpers/oidc-provider.ts):
 * configuration with a write-only secret, the browser round trip (PKCE, state, nonce, a cookie
 * binding the sign-in to the browser), accounts made on first sign-in that belong to the
 * organisation alone, every way a sign-in must be refused, and the start page that keeps another
 * site from starting a sign-in (login CSRF).
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { memberWithRole, signUp, startTestApp, strongPassword, type Client, type Reply, type SignedUp, type TestApp } from './helpers/harness.ts';
import { startTestIdp, type TestIdp } from './helpers/oidc-provider.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';

let t: TestApp;
let idp: TestIdp;
let owner: SignedUp;
let slug: string;
/** What a browser sends for a link of the dashboard's own: the sign-in starts at once. */
const typed = { 'sec-fetch-site': 'same-origin' };
/** The DNS the server sees: TXT records by name. */
const dns = new Map<string, string[][]>();

async function proveDomain(who: SignedUp, domain: string): Promise<{ status: number; body: any }> {
  const view = (await who.client.get(`/v1/orgs/${who.orgId}/sso`)).body.sso.domains.find((d: { domain: string }) => d.domain === domain);
  dns.set(view.txtName, [[view.txtValue.slice(0, 20), view.txtValue.slice(20)]]); // long records come in parts
  return who.client.post(`/v1/orgs/${who.orgId}/sso/domains/${domain}/verify`);
}

before(async () => {
  idp = await startTestIdp();
  t = await startTestApp({
    config: { ssoAllowPrivateNetworks: true },
    resolveTxt: async (name) => {
      const records = dns.get(name);
      if (!records) throw Object.assign(new Error('queryTxt ENOTFOUND'), { code: 'ENOTFOUND' });
      return records;
    },
  });
  owner = await signUp(t, 'Corp SSO');
  slug = (await owner.client.get(`/v1/orgs/${owner.orgId}`)).body.org.slug;
  const r = await owner.client.request('PUT', `/v1/orgs/${owner.orgId}/sso`, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, emailDomains: ['Corp.example', 'unproven.example'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const proven = await proveDomain(owner, 'corp.example');
  assert.equal(proven.status, 200, JSON.stringify(proven.body));
});
after(async () => {
  await t.close();
  await idp.close();
});

/** A browser's round trip: start, the provider, the callback. Returns the callback's reply and the browser. */
async function signInWithSso(options: { browser?: Client; dropBinding?: boolean; replay?: boolean; start?: (browser: Client) => Promise<Reply>; orgSlug?: string } = {}) {
  const browser = options.browser ?? t.client();
  const started = options.start ? await options.start(browser) : await browser.get(`/v1/auth/sso/${options.orgSlug ?? slug}/start`, typed);
  assert.equal(started.status, 302, JSON.stringify(started.body));
  const atIdp = await fetch(started.headers.get('location') ?? '', { redirect: 'manual' });
  assert.equal(atIdp.status, 302);
  const back = new URL(atIdp.headers.get('location') ?? '');
  if (options.dropBinding) browser.cookies.delete('palisade_sso');
  const reply = await browser.get(`${back.pathname}${back.search}`);
  const replayed = options.replay ? await browser.get(`${back.pathname}${back.search}`) : undefined;
  return { reply, browser, replayed };
}

describe('single sign-on', () => {
  it('configuration: the secret is write-only and stored encrypted; the redirect URI is given', async () => {
    const r = await owner.client.get(`/v1/orgs/${owner.orgId}/sso`);
    assert.equal(r.status, 200);
    assert.equal(r.body.sso.issuer, idp.issuer);
    assert.deepEqual(r.body.sso.emailDomains, ['corp.example', 'unproven.example']);
    assert.deepEqual(r.body.sso.domains.map((d: { domain: string; verified: boolean }) => [d.domain, d.verified]), [['corp.example', true], ['unproven.example', false]]);
    assert.equal(r.body.sso.defaultRole, 'viewer');
    assert.match(r.body.sso.redirectUri, /\/v1\/auth\/sso\/callback$/);
    assert.equal(JSON.stringify(r.body).includes(idp.clientSecret), false);
    assert.deepEqual(await scanForPlaintext(t, idp.clientSecret), []);
    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.sso_configured`)).body.entries;
    assert.equal(log.length, 1);
    assert.equal(JSON.stringify(log).includes(idp.clientSecret), false);
  });

  it('an invitation sent before a first SSO sign-in stops working: a member removed later cannot come back by it', async () => {
    const invitation = await owner.client.post(`/v1/orgs/${owner.orgId}/members`, { email: 'invited-first@corp.example', role: 'admin' });
    assert.equal(invitation.status, 201, JSON.stringify(invitation.body));
    const token = String(invitation.body.invitation.link).split('#')[1];
    idp.user = { sub: 'sub-invited-first', email: 'invited-first@corp.example', email_verified: true };
    const { reply, browser } = await signInWithSso();
    assert.equal(reply.status, 302, JSON.stringify(reply.body));
    const me = await browser.get('/v1/me');
    assert.deepEqual(me.body.orgs.map((o: { role: string }) => o.role), ['viewer']);
    const added = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=member.added_by_sso`)).body.entries.find((e: { target: { id: string } }) => e.target.id === me.body.user.id);
    assert.equal(added?.metadata.invitationsWithdrawn, 1, 'the withdrawn invitation is on record');
    assert.equal((await owner.client.delete(`/v1/orgs/${owner.orgId}/members/${me.body.user.id}`)).status, 204);
    const back = await browser.post('/v1/invitations/accept', { token });
    assert.equal(back.status, 404, JSON.stringify(back.body));
    assert.ok(!(await owner.client.get(`/v1/orgs/${owner.orgId}/members`)).body.members.some((m: { userId: string }) => m.userId === me.body.user.id));
  });

  it('signs a verified address of an allowed domain in, making its account and membership on first sign-in', async () => {
    idp.user = { sub: 'sub-pat', email: 'pat@corp.example', email_verified: true };
    const { reply, browser } = await signInWithSso();
    assert.equal(reply.status, 302, JSON.stringify(reply.body));
    const me = await browser.get('/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, 'pat@corp.example');
    assert.deepEqual(me.body.orgs.map((o: { id: string; role: string }) => [o.id, o.role]), [[owner.orgId, 'viewer']]);
    assert.ok(me.body.csrfToken, 'the dashboard gets its CSRF token from /v1/me');
    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log`)).body.entries;
    assert.ok(log.some((e: { action: string }) => e.action === 'member.added_by_sso'));
    assert.ok(log.some((e: { action: string; metadata: { method?: string } }) => e.action === 'user.login' && e.metadata.method === 'sso'));

    // The second time, the same identity signs the same account in; no new membership.
    const again = await signInWithSso();
    assert.equal(again.reply.status, 302);
    assert.equal((await again.browser.get('/v1/me')).body.user.id, me.body.user.id);

    // The account belongs to this organisation alone: no other organisation, no invitation elsewhere.
    assert.equal((await browser.post('/v1/orgs', { name: 'Elsewhere' })).status, 403);
    const other = await signUp(t, 'Other Org');
    const invitation = await other.client.post(`/v1/orgs/${other.orgId}/members`, { email: 'pat@corp.example', role: 'admin' });
    const token = String(invitation.body.invitation.link).split('#')[1];
    const accepted = await browser.post('/v1/invitations/accept', { token });
    assert.equal(accepted.status, 403);
    assert.equal((await browser.get('/v1/me')).body.orgs.length, 1);
    // And it has no password to sign in with.
    assert.equal((await t.client().post('/v1/auth/login', { email: 'pat@corp.example', password: strongPassword })).status, 401);
  });

  it('refuses: no binding cookie, a replayed callback, an unverified address, another domain, a token for another client', async () => {
    idp.user = { sub: 'sub-kim', email: 'kim@corp.example', email_verified: true };
    const unbound = await signInWithSso({ dropBinding: true });
    assert.equal(unbound.reply.status, 401);
    assert.equal(unbound.reply.body.code, 'sso_failed');

    const once = await signInWithSso({ replay: true });
    assert.equal(once.reply.status, 302);
    assert.equal(once.replayed?.status, 401, 'a callback is used once');

    for (const [user, tamper] of [
      [{ sub: 'sub-1', email: 'u1@corp.example', email_verified: false }, {}],
      [{ sub: 'sub-2', email: 'u2@evil.example', email_verified: true }, {}],
      [{ sub: 'sub-5', email: 'u5@unproven.example', email_verified: true }, {}],
      [{ sub: 'sub-7', email: 'a@x.example@corp.example', email_verified: true }, {}],
      [{ sub: 'sub-3', email: 'u3@corp.example', email_verified: true }, { aud: 'another-client' }],
      [{ sub: 'sub-4', email: 'u4@corp.example', email_verified: true }, { nonce: 'replayed' }],
    ] as const) {
      idp.user = { ...user };
      idp.tamper = { ...tamper };
      const r = await signInWithSso();
      assert.equal(r.reply.status, 401, JSON.stringify(user));
      assert.equal(r.reply.body.code, 'sso_failed');
      assert.equal((await r.browser.get('/v1/me')).status, 401, 'no session');
    }
    idp.tamper = {};

    // A token whose signature the provider's JWKS does not back.
    idp.user = { sub: 'sub-6', email: 'u6@corp.example', email_verified: true };
    idp.forgeSignature = true;
    const forged = await signInWithSso();
    idp.forgeSignature = false;
    assert.equal(forged.reply.status, 401);
    assert.equal(forged.reply.body.code, 'sso_failed');
  });

  it('never signs in an account it did not make (its other organisations are not this provider\'s to open)', async () => {
    const victim = t.client();
    const made = await victim.post('/v1/auth/signup', { email: 'boss@corp.example', password: strongPassword, orgName: 'Boss Private' });
    assert.equal(made.status, 201);
    idp.user = { sub: 'sub-boss', email: 'boss@corp.example', email_verified: true };
    const r = await signInWithSso();
    assert.equal(r.reply.status, 401);
    assert.equal(r.reply.body.code, 'sso_failed');
    assert.equal((await r.browser.get('/v1/me')).status, 401);
  });

  it('an address never moves an account to another identity (a re-pointed provider, a re-used address)', async () => {
    idp.user = { sub: 'sub-owner-like', email: 'ana@corp.example', email_verified: true };
    const first = await signInWithSso();
    assert.equal(first.reply.status, 302);
    idp.user = { sub: 'someone-else', email: 'ana@corp.example', email_verified: true };
    const r = await signInWithSso();
    assert.equal(r.reply.status, 401);
    assert.equal(r.reply.body.code, 'sso_failed');
  });

  it('a domain is proven by DNS for one organisation at most; only owners change SSO', async () => {
    const rival = await signUp(t, 'Rival');
    const body = { issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's', emailDomains: ['corp.example', 'rival.example'] };
    assert.equal((await rival.client.request('PUT', `/v1/orgs/${rival.orgId}/sso`, body)).status, 200);
    assert.equal((await rival.client.post(`/v1/orgs/${rival.orgId}/sso/domains/rival.example/verify`)).status, 400, 'no TXT record yet');
    assert.equal((await proveDomain(rival, 'rival.example')).status, 200);
    const taken = await proveDomain(rival, 'corp.example');
    assert.equal(taken.status, 409, 'proven by another organisation already');
    assert.equal((await rival.client.post(`/v1/orgs/${rival.orgId}/sso/domains/other.example/verify`)).status, 404);
    const admin = await memberWithRole(t, rival.client, rival.orgId, 'admin');
    assert.equal((await admin.client.request('PUT', `/v1/orgs/${rival.orgId}/sso`, body)).status, 403);
    assert.equal((await admin.client.delete(`/v1/orgs/${rival.orgId}/sso`)).status, 403);
    assert.equal((await admin.client.post(`/v1/orgs/${rival.orgId}/sso/domains/rival.example/verify`)).status, 403);
    const stranger = await signUp(t, 'Stranger');
    const foreign = await stranger.client.post(`/v1/orgs/${rival.orgId}/sso/domains/rival.example/verify`);
    assert.equal(foreign.status, 404, 'another organisation: as if it did not exist');
    assert.equal(foreign.body.code, 'not_found');
    assert.equal((await t.client().post(`/v1/orgs/${rival.orgId}/sso/domains/rival.example/verify`)).status, 401);
    assert.equal((await admin.client.get(`/v1/orgs/${rival.orgId}/sso`)).status, 200, 'admins may read it');
  });

  it('a provider that answers too much is refused unread (502), without holding its answer', async () => {
    const big = await signUp(t, 'Big Answers');
    const bigSlug = (await big.client.get(`/v1/orgs/${big.orgId}`)).body.org.slug;
    await big.client.request('PUT', `/v1/orgs/${big.orgId}/sso`, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, emailDomains: ['big.example'] });
    idp.padDiscovery = 300 * 1024;
    try {
      const r = await t.client().get(`/v1/auth/sso/${bigSlug}/start`, typed);
      assert.equal(r.status, 502);
      assert.equal(r.body.code, 'provider_error');
    } finally {
      idp.padDiscovery = 0;
    }
    // The failure is remembered for 30 s; saving the configuration again asks the provider at once.
    assert.equal((await t.client().get(`/v1/auth/sso/${bigSlug}/start`, typed)).status, 502, 'remembered');
    await big.client.request('PUT', `/v1/orgs/${big.orgId}/sso`, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, emailDomains: ['big.example'] });
    assert.equal((await t.client().get(`/v1/auth/sso/${bigSlug}/start`, typed)).status, 302, 'a normal answer is fine');
  });

  it('login CSRF: from another site the start is a page whose button posts back, and only a post from this origin starts a sign-in', async () => {
    const logins = async () => Number((await t.database.db.selectFrom('sso_logins').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await logins();
    const path = `/v1/auth/sso/${slug}/start`;
    // `none` too: a link opened from a mail client or a chat app, not only a typed address.
    for (const headers of [{}, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { 'sec-fetch-site': 'none' }] as Record<string, string>[]) {
      const browser = t.client();
      const page = await browser.get(path, headers);
      assert.equal(page.status, 200, JSON.stringify(headers));
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(String(page.body), /<form method="post">/);
      assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /form-action/, 'the button must be allowed to post');
      // Under no-referrer a browser's form post says Origin: null, which the post refuses.
      assert.equal(page.headers.get('referrer-policy'), 'same-origin');
      assert.match(String(page.body), /<meta name="referrer" content="same-origin">/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.equal(browser.cookies.size, 0, 'no binding cookie');
    }
    // Any slug gets the page: it tells nothing about which organisations exist.
    assert.equal((await t.client().get('/v1/auth/sso/no-such-org/start')).status, 200);

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const headers of [
      { ...form, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { ...form, 'sec-fetch-site': 'same-site', origin: 'https://sso.evil.example' },
      { ...form, 'sec-fetch-site': 'cross-site', origin: new URL(t.config.publicUrl).origin }, // the browser's word wins
      { ...form, origin: 'https://evil.example' },
      { ...form, origin: 'null' },
      form, // neither header
    ]) {
      const browser = t.client();
      const r = await browser.request('POST', path, '', headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(r.body.code, 'csrf_failed');
      assert.equal(browser.cookies.size, 0);
    }
    assert.equal(await logins(), before, 'no sign-in was started');

    // The page's own button (same origin), and a browser without Sec-Fetch headers from this origin.
    idp.user = { sub: 'sub-page', email: 'page@corp.example', email_verified: true };
    for (const headers of [{ ...form, 'sec-fetch-site': 'same-origin' }, { ...form, origin: new URL(t.config.publicUrl).origin }]) {
      const { reply, browser } = await signInWithSso({ start: (b) => b.request('POST', path, '', headers) });
      assert.equal(reply.status, 302, JSON.stringify(reply.body));
      assert.equal((await browser.get('/v1/me')).body.user.email, 'page@corp.example');
    }
    // A link of the dashboard's own (same origin) starts at once.
    const own = await t.client().get(path, typed);
    assert.equal(own.status, 302);
    // The start routes alone take a form body: the rest of SSO still refuses one.
    const form415 = await owner.client.request('PUT', `/v1/orgs/${owner.orgId}/sso`, 'issuer=x', form);
    assert.equal(form415.status, 415);
    // Malformed: a body that is no form and not JSON, or a bad slug.
    assert.equal((await t.client().request('POST', path, 'x', { 'content-type': 'text/plain', 'sec-fetch-site': 'same-origin' })).status, 415);
    assert.equal((await t.client().request('POST', '/v1/auth/sso/Not_A_Slug/start', '', { ...form, 'sec-fetch-site': 'same-origin' })).status, 400);
  });

  /** An organisation of its own with SSO on `domain` (proven), for tests that change its settings. */
  async function ssoOrg(name: string, domain: string): Promise<SignedUp & { slug: string; config: Record<string, unknown> }> {
    const o = await signUp(t, name);
    const orgSlug = (await o.client.get(`/v1/orgs/${o.orgId}`)).body.org.slug;
    const config = { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, emailDomains: [domain] };
    assert.equal((await o.client.request('PUT', `/v1/orgs/${o.orgId}/sso`, config)).status, 200);
    assert.equal((await proveDomain(o, domain)).status, 200);
    return { ...o, slug: orgSlug, config };
  }

  it('made-up organisation names cost one address 30 look-ups a minute, whatever the per-name limit allows', async () => {
    const own = await startTestApp(); // its own limiter: the rest of this file is not held up
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 35; i++) statuses.push((await own.client().get(`/v1/auth/sso/made-up-${i}/start`, { 'sec-fetch-site': 'same-origin' })).status);
      assert.deepEqual([...new Set(statuses.slice(0, 30))], [404]);
      assert.deepEqual([...new Set(statuses.slice(30))], [429]);
    } finally {
      await own.close();
    }
  });

  it('a provider whose discovery failed is not called again for a while (each /start was an outbound call anyone could make)', async () => {
    let calls = 0;
    const broken = createServer((_req, res) => {
      calls++;
      res.writeHead(500).end();
    }).listen(0, '127.0.0.1');
    await once(broken, 'listening');
    try {
      const o = await signUp(t, 'Broken provider');
      const orgSlug = (await o.client.get(`/v1/orgs/${o.orgId}`)).body.org.slug;
      const issuer = `http://127.0.0.1:${(broken.address() as { port: number }).port}`;
      const put = await o.client.request('PUT', `/v1/orgs/${o.orgId}/sso`, { issuer, clientId: 'c', clientSecret: 's'.repeat(24), emailDomains: ['broken.example'] });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      for (let i = 0; i < 3; i++) {
        const r = await t.client().get(`/v1/auth/sso/${orgSlug}/start`, { 'sec-fetch-site': 'same-origin' });
        assert.deepEqual([r.status, r.body.code], [502, 'provider_error']);
      }
      assert.equal(calls, 1, 'one discovery, then the failure is remembered');
    } finally {
      broken.close();
    }
  });

  it("require2fa: a sign-in the provider reports as multi-factor (the ID token's amr) meets it; one it does not report is refused", async () => {
    const org = await ssoOrg('Mfa Corp', 'mfa.example');
    // Stands in for the owner's TOTP enrolment (test/totp.test.ts covers it): require2fa needs the owner to have it.
    await sql`UPDATE users SET totp_secret = 'v1.o.1.placeholder', totp_enabled = true WHERE id = ${org.userId}`.execute(t.database.db);
    assert.equal((await org.client.patch(`/v1/orgs/${org.orgId}`, { require2fa: true })).status, 200);
    const projects = `/v1/orgs/${org.orgId}/projects`;
    idp.user = { sub: 'sub-mfa', email: 'mia@mfa.example', email_verified: true };
    try {
      for (const amr of [undefined, ['pwd'], ['otp'], ['pwd', 'pwd'], 'mfa', [{ mfa: true }]]) {
        idp.tamper = amr === undefined ? {} : { amr };
        const { reply, browser } = await signInWithSso({ orgSlug: org.slug });
        assert.equal(reply.status, 302, JSON.stringify(reply.body));
        const r = await browser.get(projects);
        assert.equal(r.status, 403, JSON.stringify(amr));
        assert.equal(r.body.code, 'forbidden');
        assert.match(r.body.detail, /did not report a second factor/);
      }
      for (const amr of [['mfa'], ['pwd', 'otp'], ['hwk', 'pwd'], ['pwd', 'mfa', 'sms']]) {
        idp.tamper = { amr };
        const { browser } = await signInWithSso({ orgSlug: org.slug });
        assert.equal((await browser.get(projects)).status, 200, JSON.stringify(amr));
      }
    } finally {
      idp.tamper = {};
    }
    const logins = (await org.client.get(`/v1/orgs/${org.orgId}/audit-log?action=user.login`)).body.entries.filter((e: { metadata: { method?: string } }) => e.metadata.method === 'sso');
    assert.deepEqual(logins.map((e: { metadata: { providerMfa: boolean } }) => e.metadata.providerMfa).sort(), [false, false, false, false, false, false, true, true, true, true]);

    // Only this organisation's SSO vouches here: a password session marked as another
    // organisation's multi-factor SSO sign-in is still refused (and the same mark for this one is not).
    const editor = await memberWithRole(t, org.client, org.orgId, 'editor');
    for (const [ssoOrg, expected] of [[owner.orgId, 403], [org.orgId, 200]] as const) {
      const fresh = t.client();
      assert.equal((await fresh.post('/v1/auth/login', { email: editor.email, password: strongPassword })).status, 200);
      await sql`UPDATE sessions SET sso_org_id = ${ssoOrg}, idp_mfa = true WHERE user_id = ${editor.userId} AND revoked_at IS NULL`.execute(t.database.db);
      assert.equal((await fresh.get(projects)).status, expected, ssoOrg);
    }

    // An owner whose account SSO made, signed in with a second factor, may require 2FA.
    idp.tamper = { amr: ['mfa'] };
    try {
      const mia = (await signInWithSso({ orgSlug: org.slug })).browser;
      const miaId = (await mia.get('/v1/me')).body.user.id;
      assert.equal((await org.client.patch(`/v1/orgs/${org.orgId}/members/${miaId}`, { role: 'owner' })).status, 200);
      assert.equal((await org.client.patch(`/v1/orgs/${org.orgId}`, { require2fa: false })).status, 200);
      assert.equal((await mia.patch(`/v1/orgs/${org.orgId}`, { require2fa: true })).status, 200);

      // Her account given TOTP (a break-glass owner: a password from the operator, then enrolment):
      // a single sign-on never asks for that code, so one the provider reports without a second
      // factor still does not meet require2fa, nor may it turn require2fa on.
      await sql`UPDATE users SET totp_secret = 'v1.o.1.placeholder', totp_enabled = true WHERE id = ${miaId}`.execute(t.database.db);
      idp.tamper = {};
      const single = (await signInWithSso({ orgSlug: org.slug })).browser;
      const refused = await single.get(projects);
      assert.deepEqual([refused.status, refused.body.code], [403, 'forbidden']);
      assert.match(refused.body.detail, /did not report a second factor/);
      assert.equal((await org.client.patch(`/v1/orgs/${org.orgId}`, { require2fa: false })).status, 200);
      await single.get('/v1/me'); // its CSRF token
      const turnOn = await single.patch(`/v1/orgs/${org.orgId}`, { require2fa: true });
      assert.equal(turnOn.status, 400, JSON.stringify(turnOn.body));
    } finally {
      idp.tamper = {};
    }
  });

  it('required SSO: members but owners must sign in through it; API keys are unaffected; it cannot be required before anyone can sign in', async () => {
    const org = await ssoOrg('Required Corp', 'req.example');
    const projects = `/v1/orgs/${org.orgId}/projects`;
    const put = (body: Record<string, unknown>) => org.client.request('PUT', `/v1/orgs/${org.orgId}/sso`, { ...org.config, ...body });

    // Not while disabled, nor without a proven domain (nothing changes).
    assert.equal((await put({ required: true, enabled: false })).status, 400);
    const unproven = await put({ required: true, emailDomains: ['other-req.example'] });
    assert.equal(unproven.status, 400);
    assert.equal(unproven.body.code, 'invalid_request');
    const unchanged = (await org.client.get(`/v1/orgs/${org.orgId}/sso`)).body.sso;
    assert.deepEqual([unchanged.required, unchanged.enabled, unchanged.emailDomains], [false, true, ['req.example']]);
    // Only an owner (sso:manage) may require it.
    const admin = await memberWithRole(t, org.client, org.orgId, 'admin');
    assert.equal((await admin.client.request('PUT', `/v1/orgs/${org.orgId}/sso`, { ...org.config, required: true })).status, 403);

    const editor = await memberWithRole(t, org.client, org.orgId, 'editor');
    const key = await org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'k', scopes: ['projects:read'] });
    idp.user = { sub: 'sub-req', email: 'rae@req.example', email_verified: true };
    const member = (await signInWithSso({ orgSlug: org.slug })).browser;
    assert.equal((await editor.client.get(projects)).status, 200, 'not required yet');

    assert.equal((await org.client.get(`/v1/orgs/${org.orgId}/sso`)).body.sso.membersWithoutSso, 2, 'the admin and the editor: their accounts have passwords');
    const on = await put({ required: true });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    assert.equal(on.body.sso.required, true);
    // A PUT that leaves it out (a script rotating the secret) keeps it.
    const rotated = await org.client.request('PUT', `/v1/orgs/${org.orgId}/sso`, org.config);
    assert.deepEqual([rotated.status, rotated.body.sso.required, rotated.body.sso.enabled], [200, true, true]);
    for (const who of [editor.client, admin.client]) {
      const refused = await who.get(projects);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'sso_required');
      assert.ok(refused.body.detail.includes(`/v1/auth/sso/${org.slug}/start`));
      assert.equal((await who.post(`/v1/orgs/${org.orgId}/projects`, { name: 'nope' })).status, 403, 'nor written');
    }
    const home = (await editor.client.get('/v1/me')).body.orgs.find((o: { id: string }) => o.id !== org.orgId).id;
    assert.equal((await editor.client.get(`/v1/orgs/${home}/projects`)).status, 200, 'their own organisation is not affected');
    assert.equal((await org.client.get(projects)).status, 200, 'owners are excepted (a broken provider locks nobody out)');
    assert.equal((await member.get(projects)).status, 200, 'signed in through the SSO');
    assert.equal((await t.client().get(projects, { authorization: `Bearer ${key.body.secret}` })).status, 200, 'API keys are not sign-ins');
    const audited = (await org.client.get(`/v1/orgs/${org.orgId}/audit-log?action=org.sso_configured`)).body.entries[0];
    assert.equal(audited.metadata.required, true);
    assert.equal((await org.client.get(`/v1/orgs/${org.orgId}/projects`)).body.projects.length, 0);

    // Off again, or SSO removed: password sign-ins work again.
    assert.equal((await put({ required: false })).status, 200);
    assert.equal((await editor.client.get(projects)).status, 200);
    assert.equal((await put({ required: true })).status, 200);
    assert.equal((await editor.client.get(projects)).status, 403);
    // Pointed at another client, the old provider's sessions end (what it vouched for no longer counts).
    assert.equal((await put({ clientId: 'another-client' })).status, 200);
    assert.equal((await member.get('/v1/me')).status, 401);
    assert.equal((await put({ clientId: idp.clientId })).status, 200);
    const member2 = (await signInWithSso({ orgSlug: org.slug })).browser;
    assert.equal((await member2.get(projects)).status, 200);
    assert.equal((await org.client.delete(`/v1/orgs/${org.orgId}/sso`)).status, 204);
    assert.equal((await member2.get('/v1/me')).status, 401, 'removing SSO ends its sessions');
    assert.equal((await editor.client.get(projects)).status, 200);
    // A member refused by a requirement may still leave (leaving only lessens access).
    assert.equal((await put({})).status, 200);
    assert.equal((await proveDomain(org, 'req.example')).status, 200, 'removal released the proof');
    assert.equal((await put({ required: true })).status, 200);
    assert.equal((await admin.client.get(projects)).status, 403);
    assert.equal((await admin.client.delete(`/v1/orgs/${org.orgId}/membership`)).status, 204);
    assert.equal((await admin.client.delete(`/v1/orgs/${org.orgId}/membership`)).status, 404);
  });

  it('a lockdown turns SSO off: nobody signs back in through it, a sign-in under way fails, until an owner turns it on again', async () => {
    const org = await ssoOrg('Locked Corp', 'locked.example');
    idp.user = { sub: 'sub-lock', email: 'lou@locked.example', email_verified: true };
    const before = (await signInWithSso({ orgSlug: org.slug })).browser;
    assert.equal((await before.get(`/v1/orgs/${org.orgId}/projects`)).status, 200);
    // A sign-in started before the lockdown, its provider's answer not yet back.
    const pending = t.client();
    const started = await pending.get(`/v1/auth/sso/${org.slug}/start`, typed);
    const atIdp = await fetch(started.headers.get('location') ?? '', { redirect: 'manual' });
    const back = new URL(atIdp.headers.get('location') ?? '');

    const locked = await org.client.post(`/v1/orgs/${org.orgId}/lockdown`);
    assert.equal(locked.status, 200, JSON.stringify(locked.body));
    assert.equal(locked.body.disabledSso, true);
    assert.equal((await before.get(`/v1/orgs/${org.orgId}/projects`)).status, 401, 'its session ended');
    const late = await pending.get(`${back.pathname}${back.search}`);
    assert.notEqual(late.status, 302);
    assert.equal((await pending.get('/v1/me')).status, 401, 'the sign-in under way signed nobody in');
    assert.equal((await t.client().get(`/v1/auth/sso/${org.slug}/start`, typed)).status, 404);
    // The owner signs in again with a password (the lockdown ended their session too) and turns it back on.
    assert.equal((await org.client.get(`/v1/orgs/${org.orgId}/sso`)).status, 401);
    const owner = t.client();
    assert.equal((await owner.post('/v1/auth/login', { email: org.email, password: strongPassword })).status, 200);
    const audited = (await owner.get(`/v1/orgs/${org.orgId}/audit-log?action=org.lockdown`)).body.entries[0];
    assert.equal(audited.metadata.disabledSso, true);
    assert.equal((await owner.get(`/v1/orgs/${org.orgId}/sso`)).body.sso.enabled, false);
    assert.equal((await owner.request('PUT', `/v1/orgs/${org.orgId}/sso`, { ...org.config, enabled: true })).status, 200);
    const again = await signInWithSso({ orgSlug: org.slug });
    assert.equal(again.reply.status, 302);
    assert.equal((await again.browser.get(`/v1/orgs/${org.orgId}/projects`)).status, 200);
    assert.equal((await owner.post(`/v1/orgs/${org.orgId}/lockdown`)).body.disabledSso, true);
    assert.equal((await owner.post('/v1/auth/login', { email: org.email, password: strongPassword })).status, 200);
    assert.equal((await owner.post(`/v1/orgs/${org.orgId}/lockdown`)).body.disabledSso, false, 'already off');
  });

  it('a lockdown leaves SSO on when no owner has a password (nobody could turn it back on); its sessions still end', async () => {
    const org = await ssoOrg('Sso Owners Corp', 'ssoowners.example');
    idp.user = { sub: 'sub-olive', email: 'olive@ssoowners.example', email_verified: true };
    const olive = (await signInWithSso({ orgSlug: org.slug })).browser;
    const oliveId = (await olive.get('/v1/me')).body.user.id;
    assert.equal((await org.client.patch(`/v1/orgs/${org.orgId}/members/${oliveId}`, { role: 'owner' })).status, 200);
    assert.equal((await org.client.delete(`/v1/orgs/${org.orgId}/membership`)).status, 204, 'the password owner leaves');
    const locked = await olive.post(`/v1/orgs/${org.orgId}/lockdown`);
    assert.equal(locked.status, 200, JSON.stringify(locked.body));
    assert.deepEqual([locked.body.disabledSso, locked.body.ssoKeptOn], [false, 'no owner has a password']);
    assert.equal((await olive.get('/v1/me')).status, 401, 'the session ended');
    const back = await signInWithSso({ orgSlug: org.slug });
    assert.equal(back.reply.status, 302, 'the owner signs back in through SSO');
    const audited = (await back.browser.get(`/v1/orgs/${org.orgId}/audit-log?action=org.lockdown`)).body.entries[0];
    assert.equal(audited.metadata.ssoKeptOn, 'no owner has a password');
  });

  it('a member removed since is not signed back in; unknown organisations and ones without SSO are 404', async () => {
    idp.user = { sub: 'sub-lee', email: 'lee@corp.example', email_verified: true };
    const first = await signInWithSso();
    const lee = (await first.browser.get('/v1/me')).body.user.id;
    assert.equal((await owner.client.delete(`/v1/orgs/${owner.orgId}/members/${lee}`)).status, 204);
    const again = await signInWithSso();
    assert.equal(again.reply.status, 401);
    assert.equal(again.reply.body.code, 'sso_failed');

    assert.equal((await t.client().get('/v1/auth/sso/no-such-org/start', typed)).status, 404);
    const plain = await signUp(t, 'No SSO Here');
    const plainSlug = (await plain.client.get(`/v1/orgs/${plain.orgId}`)).body.org.slug;
    assert.equal((await t.client().get(`/v1/auth/sso/${plainSlug}/start`, typed)).status, 404);
  });

  it('configuration needs org:update; bad input is refused and nothing is written; removal is audited', async () => {
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const body = { issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's', emailDomains: ['corp.example'] };
    assert.equal((await editor.client.request('PUT', `/v1/orgs/${owner.orgId}/sso`, body)).status, 403);
    assert.equal((await editor.client.get(`/v1/orgs/${owner.orgId}/sso`)).status, 403);
    const outsider = await signUp(t, 'Outsider');
    assert.equal((await outsider.client.request('PUT', `/v1/orgs/${owner.orgId}/sso`, body)).status, 404);
    for (const bad of [
      { ...body, issuer: 'not a url' },
      { ...body, issuer: 'https://169.254.169.254/' },
      { ...body, issuer: 'https://idp.example.com/.well-known/openid-configuration' },
      { ...body, issuer: 'http://8.8.8.8' }, // plain http to a public address
      { ...body, issuer: 'https://login.microsoftonline.com/common/v2.0' },
      // The same, in forms the URL parser tidies into them (openid-client reads them parsed).
      { ...body, issuer: 'https://login.microsoftonline.com:443/common/v2.0' },
      { ...body, issuer: 'https://login.microsoftonline.com/./Common/v2.0' },
      { ...body, issuer: 'https://login.microsoftonline.com\\organizations\\v2.0' },
      { ...body, issuer: 'https://contoso.b2clogin.com:443/tfp/x' },
      { ...body, issuer: 'https://idp.example.com\\.well-known\\openid-configuration' },
      { ...body, issuer: 'HTTPS://IDP.EXAMPLE.COM' },
      { ...body, emailDomains: [] },
      { ...body, emailDomains: ['*.corp.example'] },
      { ...body, defaultRole: 'owner' },
      { ...body, extra: true },
    ]) {
      const r = await owner.client.request('PUT', `/v1/orgs/${owner.orgId}/sso`, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.code, 'invalid_request');
    }
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/sso`)).body.sso.issuer, idp.issuer, 'unchanged');

    const strict = await startTestApp({ config: { ssoAllowPrivateNetworks: false } });
    try {
      const o = await signUp(strict, 'Strict SSO');
      const r = await o.client.request('PUT', `/v1/orgs/${o.orgId}/sso`, { ...body, issuer: idp.issuer });
      assert.equal(r.status, 400, 'an issuer on this machine, over http, without SSO_ALLOW_PRIVATE_NETWORKS');
    } finally {
      await strict.close();
    }

    const other = await signUp(t, 'Removing');
    await other.client.request('PUT', `/v1/orgs/${other.orgId}/sso`, body);
    assert.equal((await other.client.delete(`/v1/orgs/${other.orgId}/sso`)).status, 204);
    assert.equal((await other.client.get(`/v1/orgs/${other.orgId}/sso`)).body.sso, null);
    assert.equal((await other.client.delete(`/v1/orgs/${other.orgId}/sso`)).status, 404);
  });
});
