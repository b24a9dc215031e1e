/**
 * Transport: HTTPS refuses anything below TLS 1.3 and sends HSTS; plain HTTP sends no HSTS.
 * X-Forwarded-For is honoured only with TRUST_PROXY, so without it a client cannot spoof the
 * address that rate limits and usage records see.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as netConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { Client } from './helpers/harness.ts';
import { startCustomApp, type CustomApp } from './helpers/custom-app.ts';
import { strongPassword, uniqueEmail } from './helpers/harness.ts';
import { loadConfig } from '../src/config.ts';
import { proxyTrust } from '../src/app.ts';
import { TEST_MASTER_KEY } from './helpers/test-keys.ts';

describe('HTTPS', () => {
  let dir: string;
  let t: CustomApp;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    t = await startCustomApp({ env: { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem'), HEADERS_TIMEOUT_MS: '1500' } });
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function handshake(options: { minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket: TLSSocket = connect({ host: '127.0.0.1', port: t.port, rejectUnauthorized: false, ...options }, () => {
        const protocol = socket.getProtocol() ?? '';
        socket.end();
        resolve(protocol);
      });
      socket.once('error', reject);
    });
  }

  it('closes a connection that never starts its handshake as soon as the headers timeout passes', async () => {
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port: t.port }, () => undefined);
      socket.once('close', () => resolve(Date.now() - started));
      socket.once('error', () => undefined);
      setTimeout(() => (socket.destroy(), reject(new Error('still open after 10 s'))), 10_000).unref();
    });
    assert.ok(closedAfter < 5_000, `closed after ${closedAfter} ms (Node's own handshake limit is 120 s)`);
  });

  it('accepts TLS 1.3', async () => {
    assert.equal(await handshake({ minVersion: 'TLSv1.3' }), 'TLSv1.3');
  });

  it('refuses a client that speaks at most TLS 1.2', async () => {
    await assert.rejects(handshake({ maxVersion: 'TLSv1.2' }), (error: Error & { code?: string }) => {
      assert.match(`${error.code} ${error.message}`, /alert|protocol|version|ECONNRESET/i);
      return true;
    });
  });

  function headersOf(path: string): Promise<Record<string, string | string[] | undefined>> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: t.port, path, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, (res) => {
        res.resume();
        resolve(res.headers);
      });
      req.once('error', reject);
      req.end();
    });
  }

  it('sends HSTS and the security headers over HTTPS', async () => {
    const headers = await headersOf('/healthz');
    assert.match(String(headers['strict-transport-security']), /max-age=31536000; includeSubDomains/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
  });

  it('asks browsers to load the API reference pages only over https', async () => {
    assert.match(String((await headersOf('/docs/static/index.html'))['content-security-policy']), /upgrade-insecure-requests/);
  });

  it('marks the session cookie Secure (and __Host-) under TLS', async () => {
    const cookies = await new Promise<string[]>((resolve, reject) => {
      const body = JSON.stringify({ email: `tls-${Date.now()}@example.test`, password: 'violet-harbour-quantum-47', orgName: 'TLS' });
      const req = httpsRequest(
        { host: '127.0.0.1', port: t.port, path: '/v1/auth/signup', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          resolve(res.headers['set-cookie'] ?? []);
        },
      );
      req.once('error', reject);
      req.end(body);
    });
    const session = cookies.find((c) => c.startsWith('__Host-palisade_session=')) ?? '';
    assert.match(session, /; Secure/i);
    assert.match(session, /; HttpOnly/i);
    assert.match(session, /SameSite=Lax/i);
  });
});

describe('trustProxy', () => {
  async function lastIpSeen(trustProxy: string, forwardedFor = '198.51.100.99'): Promise<string> {
    const t = await startCustomApp({ env: { TRUST_PROXY: trustProxy } });
    try {
      const owner = new Client(t.url);
      const s = await owner.post('/v1/auth/signup', { email: uniqueEmail(), password: strongPassword, orgName: 'Proxy' });
      const created = await owner.post(`/v1/orgs/${s.body.org.id}/api-keys`, { name: 'k', scopes: ['projects:read'] });
      const c = new Client(t.url);
      c.bearer = created.body.secret;
      const r = await c.get(`/v1/orgs/${s.body.org.id}/projects`, { 'x-forwarded-for': forwardedFor });
      assert.equal(r.status, 200);
      const usage = await owner.get(`/v1/api-keys/${created.body.apiKey.id}/usage`);
      return usage.body.usage.lastIp;
    } finally {
      await t.close();
    }
  }

  it('ignores X-Forwarded-For by default (it cannot be spoofed)', async () => {
    assert.equal(await lastIpSeen('false'), '127.0.0.1');
  });

  it('honours X-Forwarded-For when TRUST_PROXY is set', async () => {
    assert.equal(await lastIpSeen('true'), '198.51.100.99');
  });

  // The test connects from 127.0.0.1 as the proxy would; the client wrote 6.6.6.6 itself.
  it('believes only the trusted hops: entries a client wrote before them are ignored', async () => {
    assert.equal(await lastIpSeen('true', '6.6.6.6, 198.51.100.99'), '198.51.100.99', 'true is one hop, not every hop');
    assert.equal(await lastIpSeen('2', '6.6.6.6, 203.0.113.7, 198.51.100.99'), '203.0.113.7');
    assert.equal(await lastIpSeen('127.0.0.1', '6.6.6.6, 198.51.100.99'), '198.51.100.99');
    assert.equal(await lastIpSeen('10.0.0.0/8'), '127.0.0.1', 'a peer outside the listed proxies is the client');
  });

  it('a hop count believes a peer at a public address no more than a client: it may be one', () => {
    const trust = proxyTrust(1);
    assert.equal(typeof trust, 'function');
    const hop = trust as (address: string, hop: number) => boolean;
    for (const peer of ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.1', '::1', 'fd12::1', '::ffff:10.0.0.7']) assert.equal(hop(peer, 0), true, peer);
    for (const peer of ['203.0.113.5', '8.8.8.8', '2001:db8::1', '::ffff:203.0.113.5', 'junk']) assert.equal(hop(peer, 0), false, peer);
    assert.equal(hop('10.0.0.1', 1), false, 'one hop only');
    const two = proxyTrust(2) as (address: string, hop: number) => boolean;
    assert.equal(two('198.51.100.99', 1), true, 'the hop a trusted proxy forwarded');
  });

  it('refuses a TRUST_PROXY that is none of: a boolean, a hop count, proxy addresses or CIDRs', () => {
    const env = { PALISADE_MASTER_KEY: TEST_MASTER_KEY };
    for (const value of ['maybe', '11', '300.1.1.1', '10.0.0.0/99', '10.0.0.0/8/1', 'example.com']) {
      assert.throws(() => loadConfig({ ...env, TRUST_PROXY: value }), /TRUST_PROXY/, value);
    }
    assert.deepEqual(loadConfig({ ...env, TRUST_PROXY: '10.0.0.0/8, ::1' }).trustProxy, ['10.0.0.0/8', '::1']);
  });
});
