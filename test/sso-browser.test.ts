/**
 * The SSO start page in a real headless Chromium (login CSRF, src/modules/sso/start-page.ts): a
 * page on another site that sends the browser to an organisation's sign-in link gets it no further
 * than the start page, and nobody is signed in; the page's button, clicked, goes through the
 * provider and back, signed in. Real Fetch Metadata and Origin headers, as the browser sends them.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { signUp, startTestApp, type TestApp } from './helpers/harness.ts';
import { startTestIdp, type TestIdp } from './helpers/oidc-provider.ts';

const CHROMIUM = '/usr/bin/chromium';

let t: TestApp;
let idp: TestIdp;
let browser: Browser;
let attacker: Server;
let attackerUrl: string;
let slug: string;

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => s.once('listening', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('SSO start page in a real browser', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (.ci/run installs it)` }, () => {
  before(async () => {
    idp = await startTestIdp();
    const dns = new Map<string, string[][]>();
    // The browser follows the server's own redirects, so its public URL must be where it listens.
    t = await startTestApp({
      port: await freePort(),
      config: { ssoAllowPrivateNetworks: true },
      resolveTxt: async (name) => dns.get(name) ?? Promise.reject(Object.assign(new Error('queryTxt ENOTFOUND'), { code: 'ENOTFOUND' })),
    });
    const owner = await signUp(t, 'Browser SSO');
    slug = (await owner.client.get(`/v1/orgs/${owner.orgId}`)).body.org.slug;
    const configured = await owner.client.request('PUT', `/v1/orgs/${owner.orgId}/sso`, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, emailDomains: ['corp.example'] });
    assert.equal(configured.status, 200, JSON.stringify(configured.body));
    const proof = configured.body.sso.domains[0];
    dns.set(proof.txtName, [[proof.txtValue]]);
    assert.equal((await owner.client.post(`/v1/orgs/${owner.orgId}/sso/domains/corp.example/verify`)).status, 200);
    idp.user = { sub: 'sub-browser', email: 'bea@corp.example', email_verified: true };

    // Another site ("localhost" is another site than "127.0.0.1") that sends its visitors to the sign-in link.
    const link = `${t.url}/v1/auth/sso/${slug}/start`;
    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>Prize</title><script>location.href = ${JSON.stringify(link)};</script>`));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await t?.close();
    await idp?.close();
  });

  it('another site gets the browser no further than the start page; its button, clicked, signs in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const tokensBefore = idp.tokenRequests;
    await page.goto(attackerUrl);
    await page.waitForURL(`${t.url}/v1/auth/sso/${slug}/start`);
    await page.getByRole('button', { name: 'Continue to sign in' }).waitFor();
    assert.equal(idp.tokenRequests, tokensBefore, 'the provider was not asked');
    assert.equal((await context.cookies(t.url)).length, 0, 'no session, no binding cookie');

    await Promise.all([page.waitForURL(`${t.url}/`), page.getByRole('button', { name: 'Continue to sign in' }).click()]);
    assert.equal(idp.tokenRequests, tokensBefore + 1);
    // With the browser's cookies (the landing page may be the dashboard or not built here).
    const me = await context.request.get(`${t.url}/v1/me`);
    assert.equal(me.status(), 200);
    assert.equal((await me.json()).user.email, 'bea@corp.example');
    await context.close();
  });

  it('a post from another site is refused, and signs nobody in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // A cross-site form post straight at the start route, as a page could send one.
    await page.setContent(`<form method="post" action="${t.url}/v1/auth/sso/${slug}/start"><button>go</button></form>`);
    await Promise.all([page.waitForURL(`${t.url}/v1/auth/sso/${slug}/start`), page.getByRole('button', { name: 'go' }).click()]);
    assert.match((await page.content()) ?? '', /csrf_failed/);
    assert.equal((await context.cookies(t.url)).length, 0);
    await context.close();
  });
});
