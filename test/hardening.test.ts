/**
 * Hardening: security headers (and the framing exception the widget uses), JSON nesting depth
 * and prototype-pollution keys, body and header size limits, timeouts against slow clients,
 * and the caps on concurrent connections, per IP and in all.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { allowFraming } from '../src/platform/http/framing.ts';
import { startCustomApp, type CustomApp } from './helpers/custom-app.ts';

let t: CustomApp;

function routes(app: FastifyInstance): void {
  app.post('/test/echo', async (request) => ({ body: request.body }));
  app.get('/test/framable', { config: { framable: true } }, async () => ({ ok: true }));
  app.get('/test/framed-by', { config: { framable: true } }, async (_request, reply) => {
    allowFraming(reply, ['https://docs.example.com', 'javascript:alert(1)']);
    return { ok: true };
  });
  app.get('/test/not-framable', async (_request, reply) => {
    allowFraming(reply, ['https://docs.example.com']);
    return { ok: true };
  });
}

before(async () => {
  t = await startCustomApp({
    env: {
      BODY_LIMIT_BYTES: '4096',
      JSON_MAX_DEPTH: '32',
      MAX_HEADER_BYTES: '8192',
      MAX_CONNECTIONS_PER_IP: '4',
      HEADERS_TIMEOUT_MS: '400',
      REQUEST_TIMEOUT_MS: '1000',
      KEEP_ALIVE_TIMEOUT_MS: '300',
      CONNECTION_TIMEOUT_MS: '5000',
    },
    routes,
  });
});
after(() => t.close());

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(t.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe('security headers', () => {
  it('sends CSP, nosniff, referrer policy and frame refusal; no HSTS over plain HTTP', async () => {
    const r = await fetch(`${t.url}/healthz`);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/, 'a JSON reply is never rendered: its policy allows nothing');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /'self'|unsafe/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin');
    assert.equal(r.headers.get('cache-control'), 'no-store', 'API replies are never cached');
    assert.equal(r.headers.get('x-powered-by'), null);
    assert.equal(r.headers.get('strict-transport-security'), null);
  });

  it('the widget script may be loaded from any site, with Subresource Integrity (CORS for anyone), and nothing else is', async () => {
    const script = await fetch(`${t.url}/widget.js`, { headers: { origin: 'https://customer.example' } });
    assert.equal(script.status, 200, 'npm test builds the widget first');
    assert.equal(script.headers.get('access-control-allow-origin'), '*');
    assert.equal(script.headers.get('cross-origin-resource-policy'), 'cross-origin');
    const api = await fetch(`${t.url}/healthz`, { headers: { origin: 'https://customer.example' } });
    assert.equal(api.headers.get('access-control-allow-origin'), null);
  });

  it("requests Node's parser refuses (a broken request line, oversized headers) are answered with the same headers, as problem+json", async () => {
    const { port, hostname } = new URL(t.url);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.end(request));
        let text = '';
        socket.on('data', (c: Buffer) => (text += c.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    for (const [request, status] of [
      ['BROKEN REQUEST LINE\r\n\r\n', 400],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431],
    ] as const) {
      const answer = await raw(request);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1.1 ${status} `), head);
      assert.match(head, /content-security-policy: default-src 'none'/i);
      assert.match(head, /x-frame-options: DENY/i);
      assert.match(head, /content-type: application\/problem\+json/i);
      assert.equal(JSON.parse(body).status, status);
    }
  });

  it('refusals made before routing or by early hooks carry them too, as problem+json that does not echo the URL', async () => {
    for (const path of ['/v1/x%00y', '/v1/projects/%E0%A4%A', '/v1/nothing-here', '/healthz?q=%00']) {
      const r = await fetch(`${t.url}${path}`);
      assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, path);
      assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/, path);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('cache-control'), 'no-store', path);
      const body = await r.text();
      assert.ok(!body.includes('%E0') && !body.includes('FST_'), `${path}: ${body}`);
    }
  });

  it('the API reference pages get a policy that lets them load their own scripts and styles, and nothing else', async () => {
    for (const path of ['/docs', '/docs/', '/docs/static/index.html']) {
      const r = await fetch(`${t.url}${path}`);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /object-src 'none'/, path);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/, `${path}: served over http, the page's own assets stay on http`);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
    }
    const lookalike = await fetch(`${t.url}/docsx`);
    assert.match(lookalike.headers.get('content-security-policy') ?? '', /default-src 'none'/, 'only the /docs prefix itself');
  });

  it('a framable route (the widget) may be framed; allowFraming names who, and drops junk sources', async () => {
    const any = await fetch(`${t.url}/test/framable`);
    assert.equal(any.headers.get('x-frame-options'), null);
    assert.match(any.headers.get('content-security-policy') ?? '', /frame-ancestors \*$/);
    assert.match(any.headers.get('content-security-policy') ?? '', /default-src 'none'/, 'the rest of the policy stays');
    const some = await fetch(`${t.url}/test/framed-by`);
    assert.equal(some.headers.get('x-frame-options'), null);
    const csp = some.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors https:\/\/docs\.example\.com$/);
    assert.doesNotMatch(csp, /javascript/);
  });

  it('allowFraming on a route that did not opt in changes nothing: framing stays denied', async () => {
    const r = await fetch(`${t.url}/test/not-framable`);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });
});

describe('request body', () => {
  it('accepts JSON nested up to the limit and refuses deeper nesting with 400', async () => {
    assert.equal((await post('/test/echo', nested(32))).status, 200);
    const r = await post('/test/echo', nested(33));
    assert.equal(r.status, 400);
    const body = (await r.json()) as { code: string; detail: string };
    assert.equal(body.code, 'invalid_request');
    assert.match(body.detail, /nested deeper than 32/);
    // Brackets inside strings are not nesting.
    assert.equal((await post('/test/echo', JSON.stringify({ s: '['.repeat(100) }))).status, 200);
  });

  it('refuses __proto__ and constructor.prototype keys', async () => {
    for (const body of ['{"__proto__":{"admin":true}}', '{"a":{"\\u005f_proto__":{}}}', '{"constructor":{"prototype":{"admin":true}}}']) {
      const r = await post('/test/echo', body);
      assert.equal(r.status, 400, body);
      assert.equal(((await r.json()) as { code: string }).code, 'invalid_request');
    }
  });

  it('refuses invalid JSON and oversized bodies', async () => {
    assert.equal((await post('/test/echo', '{"a":')).status, 400);
    const big = await post('/test/echo', JSON.stringify({ s: 'x'.repeat(5000) }));
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { code: string }).code, 'payload_too_large');
  });
});

describe('connections', () => {
  function open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: t.port }, () => resolve(s));
      s.once('error', reject);
    });
  }
  function rawRequest(socket: Socket, text: string): Promise<string> {
    return new Promise((resolve) => {
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
      socket.once('close', () => resolve(data));
      socket.write(text);
    });
  }

  it('refuses request heads larger than the limit (431)', async () => {
    const r = await fetch(`${t.url}/healthz`, { headers: { 'x-big': 'a'.repeat(9000) } });
    assert.equal(r.status, 431);
  });

  it('closes a connection that sends its headers too slowly', async () => {
    const s = await open();
    const started = Date.now();
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 100);
    const reply = await new Promise<string>((resolve) => {
      let data = '';
      s.on('data', (c: Buffer) => (data += c.toString('latin1')));
      s.once('close', () => resolve(data));
      s.on('error', () => undefined);
    });
    clearInterval(timer);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3_000, `closed after ${elapsed} ms`);
    assert.match(reply, /^HTTP\/1\.1 408|^$/);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const s = await open();
    const started = Date.now();
    const reply = await rawRequest(s, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.match(reply, /Keep-Alive: timeout=0|Keep-Alive: timeout=\d/i);
    assert.ok(Date.now() - started < 3_000);
  });

  it('caps concurrent connections per IP', async () => {
    const held = await Promise.all([open(), open(), open(), open()]);
    await new Promise((r) => setTimeout(r, 50));
    const extra = await open();
    const closed = await Promise.race([once(extra, 'close').then(() => true), new Promise((r) => setTimeout(() => r(false), 1_000))]);
    assert.equal(closed, true, 'the fifth connection is dropped');
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await fetch(`${t.url}/healthz`, { headers: { connection: 'close' } })).status, 200, 'below the cap again');
  });

  it('caps concurrent connections in all (MAX_CONNECTIONS), whoever opens them', async () => {
    const small = await startCustomApp({ env: { MAX_CONNECTIONS: '3', MAX_CONNECTIONS_PER_IP: '0' } });
    const openTo = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: small.port }, () => resolve(s));
        s.once('error', reject);
      });
    try {
      const held = await Promise.all([openTo(), openTo(), openTo()]);
      await new Promise((r) => setTimeout(r, 50));
      const extra = await openTo();
      const closed = await Promise.race([once(extra, 'close').then(() => true), new Promise((r) => setTimeout(() => r(false), 1_000))]);
      assert.equal(closed, true, 'the fourth connection is dropped');
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await fetch(`${small.url}/healthz`, { headers: { connection: 'close' } })).status, 200, 'below the ceiling again');
    } finally {
      await small.close();
    }
  });
});
