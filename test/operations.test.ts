/**
 * Operations: health and readiness, OpenAPI, security headers, log redaction, configuration
 * errors that name the variable, and a graceful stop on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError, loadConfig, publicUrlWarning } from '../src/config.ts';
import { loggerOptions } from '../src/platform/http/logging.ts';
import { logNetworkOf } from '../src/modules/rate-limits/ip.ts';
import { createTestDatabase } from './helpers/database.ts';
import { startTestApp, type TestApp } from './helpers/harness.ts';
import { TEST_MASTER_KEY } from './helpers/test-keys.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

describe('health and documentation', () => {
  it('/healthz and /readyz answer', async () => {
    const c = t.client();
    assert.deepEqual((await c.get('/healthz')).body, { status: 'ok' });
    assert.deepEqual((await c.get('/readyz')).body, { status: 'ready' });
  });

  it('serves OpenAPI at /docs/json with an operationId on every route', async () => {
    const r = await t.client().get('/docs/json');
    assert.equal(r.status, 200);
    assert.equal(r.body.info.title, 'Palisade API');
    const operations = Object.values(r.body.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((p) => Object.values(p));
    assert.ok(operations.length > 15);
    for (const op of operations) assert.ok(op.operationId, JSON.stringify(op).slice(0, 120));
    assert.equal((await t.client().get('/docs')).status < 400, true);
  });

  it('sends security headers', async () => {
    const r = await t.client().get('/healthz');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  });
});

describe('logs', () => {
  it('redacts cookies, authorization headers, passwords, tokens and second-factor codes', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const log = pino(loggerOptions('info'), sink);
    log.info({ req: { headers: { cookie: 'palisade_session=SECRET1', authorization: 'Bearer SECRET2', 'x-csrf-token': 'SECRET3' } } }, 'request');
    log.info({ body: { email: 'a@b.c', password: 'SECRET4' } }, 'signup');
    log.info({ token: 'SECRET5', session: { token: 'SECRET6' } }, 'token');
    log.info({ body: { email: 'a@b.c', password: 'x', totp: 'SECRET7' }, reply: { recoveryCodes: ['SECRET8'] }, recoveryCodes: ['SECRET9'] }, 'two-factor');
    log.error({ err: Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), { code: '23505', detail: 'Key (email)=(SECRET10@example.com) already exists.' }) }, 'unexpected error');
    const out = lines.join('');
    for (const secret of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4', 'SECRET5', 'SECRET6', 'SECRET7', 'SECRET8', 'SECRET9', 'SECRET10']) assert.equal(out.includes(secret), false, secret);
    assert.match(out, /users_email_key/, 'the error itself is still logged');
    assert.match(out, /\[redacted\]/);
  });

  it("keep a request's method, path and client network, never its full address or query", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const log = pino(loggerOptions('info', logNetworkOf), sink);
    log.info({ req: { method: 'GET', url: '/v1/orgs/org_1/audit-log?actor=SECRET11', ip: '203.0.113.77', headers: { cookie: 'SECRET12' } } }, 'incoming request');
    log.info({ req: { method: 'POST', url: '/v1/widget/prj_1/messages', ip: '2001:db8:1234:5678::9' } }, 'incoming request');
    log.error({ err: Object.assign(new Error('Connection is closed.'), { command: { name: 'incrby', args: ['palisade:login_fail_account:SECRET13@example.com', 1] } }) }, 'unexpected error');
    const out = lines.join('');
    for (const secret of ['SECRET11', 'SECRET12', 'SECRET13', '203.0.113.77', '1234:5678']) assert.equal(out.includes(secret), false, secret);
    assert.match(out, /"remoteNetwork":"203\.0\.113\.0\/24"/);
    assert.match(out, /"remoteNetwork":"2001:db8:1234::\/48"/);
    assert.match(out, /"url":"\/v1\/orgs\/org_1\/audit-log"/);
  });
});

describe('configuration', () => {
  it('a bad value stops start-up with a message naming the variable', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), (e: unknown) => e instanceof ConfigError && /DATABASE_URL/.test(e.message));
    assert.throws(() => loadConfig({ TLS_CERT_FILE: '/x.pem' }), (e: unknown) => e instanceof ConfigError && /TLS_KEY_FILE/.test(e.message));
    for (const bad of ['0', '-5', '1.5', 'lots']) {
      assert.throws(() => loadConfig({ ORG_MESSAGES_PER_HOUR: bad }), (e: unknown) => e instanceof ConfigError && /ORG_MESSAGES_PER_HOUR/.test(e.message), bad);
    }
    assert.equal(loadConfig({}).orgMessagesPerHour, 20_000);
    assert.equal(loadConfig({ ORG_MESSAGES_PER_HOUR: '250000' }).orgMessagesPerHour, 250_000);
    for (const bad of ['1e3', '0x10', '12abc']) {
      assert.throws(() => loadConfig({ PORT: bad }), (e: unknown) => e instanceof ConfigError && /PORT: must be a whole number/.test(e.message), bad);
    }
  });

  it('an empty variable is unset: its default applies (an empty number was read as 0, turning features off)', () => {
    const empty = loadConfig({ PORT: '', RETENTION_SWEEP_MINUTES: '', WEBHOOK_DELIVERY_INTERVAL_MS: ' ', MAX_CONNECTIONS_PER_IP: '', PUBLIC_URL: '', LOG_LEVEL: '', HOST: '', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '' });
    assert.deepEqual(
      [empty.port, empty.retentionSweepMinutes, empty.webhookDeliveryIntervalMs, empty.httpLimits.maxConnectionsPerIp, empty.publicUrlSet, empty.logLevel, empty.host, empty.webhookAllowPrivateNetworks],
      [3000, 60, 1000, loadConfig({}).httpLimits.maxConnectionsPerIp, false, 'info', '127.0.0.1', false],
    );
    assert.ok(empty.httpLimits.maxConnectionsPerIp > 0);
  });

  it('PUBLIC_URL is kept normalised, and one carrying user-info, a query or a fragment is refused', () => {
    assert.equal(loadConfig({ PUBLIC_URL: 'HTTPS://Chat.Example.com/' }).publicUrl, 'https://chat.example.com', 'https, so cookies are Secure');
    // Identity providers compare the SSO redirect URI exactly: a start says which form is used.
    assert.match(publicUrlWarning(loadConfig({ PUBLIC_URL: 'https://chat.example.com:443' })) ?? '', /used as https:\/\/chat\.example\.com \(written https:\/\/chat\.example\.com:443\): register the SSO redirect URI \(https:\/\/chat\.example\.com\/v1\/auth\/sso\/callback\)/);
    assert.equal(publicUrlWarning(loadConfig({ PUBLIC_URL: 'https://chat.example.com/' })), undefined, 'a trailing slash was always dropped');
    assert.equal(loadConfig({ PUBLIC_URL: 'https://example.com/palisade/' }).publicUrl, 'https://example.com/palisade');
    for (const bad of ['https://u:p@chat.example.com', 'https://chat.example.com/?next=x', 'https://chat.example.com/#x', 'ftp://chat.example.com']) {
      assert.throws(() => loadConfig({ PUBLIC_URL: bad }), (e: unknown) => e instanceof ConfigError && /PUBLIC_URL/.test(e.message), bad);
    }
    assert.equal(loadConfig({ HOST: '::1', PORT: '3000' }).publicUrl, 'http://[::1]:3000', 'an IPv6 host in brackets');
  });

  it('TRUST_PROXY never trusts every hop: ranges wider than a proxy fleet needs are refused', () => {
    for (const bad of ['0.0.0.0/0', '::/0', '10.0.0.0/8,0.0.0.0/0', '0.0.0.0/1,128.0.0.0/1', '::/1,8000::/1', '::ffff:0.0.0.0/96', '0:0:0:0:0:ffff:0:0/96', '0::ffff:0.0.0.0/96', '2a00::/8']) {
      assert.throws(() => loadConfig({ TRUST_PROXY: bad }), (e: unknown) => e instanceof ConfigError && /TRUST_PROXY: a range that wide/.test(e.message), bad);
    }
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8,fd00::/8,2001:db8::/32,::ffff:10.0.0.0/104' }).trustProxy, ['10.0.0.0/8', 'fd00::/8', '2001:db8::/32', '::ffff:10.0.0.0/104']);
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'fe80::%eth0/64' }).trustProxy, ['fe80::%eth0/64'], 'a link-local range with its zone');
  });

  it('warns when a server others reach has no PUBLIC_URL (its cookies would go without Secure)', () => {
    const env = { PALISADE_MASTER_KEY: TEST_MASTER_KEY };
    assert.equal(publicUrlWarning(loadConfig({ ...env })), undefined, 'a try-out on loopback');
    assert.match(publicUrlWarning(loadConfig({ ...env, TRUST_PROXY: 'true' })) ?? '', /PUBLIC_URL/);
    assert.match(publicUrlWarning(loadConfig({ ...env, HOST: '0.0.0.0' })) ?? '', /PUBLIC_URL/);
    assert.equal(publicUrlWarning(loadConfig({ ...env, TRUST_PROXY: 'true', PUBLIC_URL: 'https://chat.example.com' })), undefined);
  });

  it('the CLI exits non-zero and names the variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'migrate'], { env: { ...process.env, PORT: '99999' }, stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /PORT/);
  });
});

describe('graceful shutdown', () => {
  it('stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-stop-'));
    const testDb = await createTestDatabase();
    try {
      const env = { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', DATABASE_URL: testDb.url ?? '', REDIS_URL: '',
        // An external database needs a master key; the embedded one creates its key file in DATA_DIR.
        PALISADE_MASTER_KEY: testDb.url ? TEST_MASTER_KEY : '' };
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--no-demo'], { env, stdio: 'pipe' });
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`did not start: ${out}`)), 60_000);
        child.stdout.on('data', () => out.includes('listening on') && (clearTimeout(timer), resolve()));
      });
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(url);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0);
    } finally {
      await testDb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('metrics and security.txt', () => {
  const token = 'metrics-token-0123456789abcdef';
  let m: TestApp;
  before(async () => {
    m = await startTestApp({ config: { metricsToken: token, securityContact: 'mailto:security@example.com', publicUrl: 'https://chat.example.com' } });
  });
  after(() => m.close());

  it('/metrics is off without METRICS_TOKEN, and needs the token when on', async () => {
    assert.equal((await t.client().get('/metrics')).status, 404);
    assert.equal((await m.client().get('/metrics')).status, 401);
    assert.equal((await m.client().get('/metrics', { authorization: `Bearer ${token}x` })).status, 401);
    assert.equal((await m.client().get('/metrics', { authorization: token })).status, 401);
    await m.client().get('/v1/projects/prj_doesnotexist1');
    const r = await m.client().get<string>('/metrics', { authorization: `Bearer ${token}` });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(r.body, /palisade_process_cpu_seconds_total/);
    // Route patterns, never URLs with ids in them.
    assert.match(r.body, /palisade_http_request_duration_seconds_count\{method="GET",route="\/v1\/projects\/:projectId",status="401"\} 1/);
    assert.doesNotMatch(r.body, /prj_doesnotexist1/);
    assert.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
  });

  it('/.well-known/security.txt names the operator\'s contact (RFC 9116), and is absent without one', async () => {
    assert.equal((await t.client().get('/.well-known/security.txt')).status, 404);
    const plain = await startTestApp({ config: { securityContact: 'https://example.com/security' } });
    try {
      const r = await plain.client().get<string>('/.well-known/security.txt');
      assert.match(r.body, /^Contact: https:\/\/example\.com\/security$/m);
      assert.doesNotMatch(r.body, /Canonical/, 'an http installation names no canonical URI (RFC 9116: https only)');
    } finally {
      await plain.close();
    }
    const r = await m.client().get<string>('/.well-known/security.txt');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(r.body, /^Contact: mailto:security@example\.com$/m);
    assert.match(r.body, /^Canonical: https:\/\/chat\.example\.com\/\.well-known\/security\.txt$/m);
    const expires = Date.parse(/^Expires: (.+)$/m.exec(r.body)?.[1] ?? '');
    assert.ok(expires > Date.now() + 30 * 86_400_000 && expires < Date.now() + 365 * 86_400_000, 'expires within a year, not soon');
    assert.throws(() => loadConfig({ SECURITY_CONTACT: 'security@example.com' }), /SECURITY_CONTACT/);
  });
});
