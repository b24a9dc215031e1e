/** When `palisade serve` creates the demo: a try-out on one's own machine, or when asked. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../config.ts';
import { DEMO_EMAIL, DEMO_PROJECT_NAME, demoWanted, ensureDemo } from './seed.ts';
import { startDemoSite } from './demo-site.ts';
import { allowedDomainsSchema } from '../projects/origin-policy.ts';

const wanted = (env: NodeJS.ProcessEnv, requested?: boolean): boolean => demoWanted(requested, loadConfig(env));
const tls = { TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem' };

test('the demo is on by default only on a loopback address without TLS; --demo and --no-demo decide otherwise', () => {
  for (const HOST of ['127.0.0.1', '127.0.1.1', '::1', 'localhost']) assert.equal(wanted({ HOST }), true, HOST);
  for (const HOST of ['0.0.0.0', '::', '10.0.0.5', 'palisade.example.com']) assert.equal(wanted({ HOST }), false, HOST);
  assert.equal(wanted({ HOST: '127.0.0.1', ...tls }), false, 'over TLS');
  assert.equal(wanted({ HOST: '0.0.0.0', ...tls }, true), true, '--demo');
  assert.equal(wanted({ HOST: '127.0.0.1' }, false), false, '--no-demo');
});

test('a loopback server that others reach through a proxy on the same machine gets no demo', () => {
  assert.equal(wanted({ HOST: '127.0.0.1', TRUST_PROXY: 'true' }), false, 'behind a proxy');
  assert.equal(wanted({ HOST: '127.0.0.1', PUBLIC_URL: 'https://chat.example.com' }), false, 'a public address');
  assert.equal(wanted({ HOST: '127.0.0.1', PUBLIC_URL: 'http://localhost:3000' }), true, 'a loopback PUBLIC_URL is still one machine');
  assert.equal(wanted({ HOST: '127.0.0.1', TRUST_PROXY: 'true' }, true), true, '--demo');
});

test('on an IPv6 loopback (HOST=::1) the demo site has an address its allowed domains can name', async () => {
  const site = await startDemoSite({ host: '::1', port: 0, apiUrl: 'http://[::1]:3000', projectId: 'prj_demo' });
  try {
    const url = new URL(site.url); // "http://::1:…" did not parse, and serve stopped after seeding
    assert.equal(url.hostname, 'localhost');
    assert.equal(allowedDomainsSchema.safeParse([url.host]).success, true);
    const page = await fetch(`http://[::1]:${url.port}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src http:\/\/localhost:3000;/, 'browsers ignore a bracketed IPv6 source: the widget would be blocked');
    assert.match(await page.text(), /src="http:\/\/localhost:3000\/widget\.js"/);
  } finally {
    await site.close();
  }
});

test('a demo project its owner deleted is made again on the next start; their other projects are never embedded', async () => {
  const { startTestApp } = await import('../../../test/helpers/harness.ts');
  const t = await startTestApp();
  try {
    const rootDir = '/nonexistent-palisade-root'; // no documentation to load: only the projects matter here
    const first = await ensureDemo(t.services, t.database.db, { rootDir });
    assert.ok(first.password, 'the first start creates the owner');
    const actor = { principal: { kind: 'user' as const, userId: first.ownerUserId, sessionId: '', email: DEMO_EMAIL }, ip: null };
    const own = await t.services.projects.create(first.orgId, { name: 'Their real bot' }, actor);
    await t.services.projects.remove(first.orgId, first.projectId, actor);
    const again = await ensureDemo(t.services, t.database.db, { rootDir });
    assert.equal(again.password, undefined, 'the owner is not made again (that stopped the start with a conflict)');
    assert.equal(again.orgId, first.orgId);
    assert.notEqual(again.projectId, own.id, 'their own project is not taken for the demo');
    assert.equal((await t.services.projects.get(again.orgId, again.projectId)).name, DEMO_PROJECT_NAME);
    assert.equal((await ensureDemo(t.services, t.database.db, { rootDir })).projectId, again.projectId, 'and found on the next start');
  } finally {
    await t.close();
  }
});
