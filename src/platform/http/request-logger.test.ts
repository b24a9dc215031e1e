import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { loggerOptions } from './logging.ts';
import { logNetworkOf } from '../../modules/rate-limits/ip.ts';
import { lazyChildLogger } from './request-logger.ts';

function sinkLogger(level: string): { log: FastifyBaseLogger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, cb) => (out.push(String(chunk)), cb()) });
  return { log: pino(loggerOptions(level), sink) as unknown as FastifyBaseLogger, lines: () => out.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('lazy request logger', () => {
  it('writes enabled lines with the request binding and redaction, drops the others', () => {
    const { log, lines } = sinkLogger('warn');
    const child = lazyChildLogger(log, { reqId: 'r-1' }, {});
    child.info('not written');
    child.debug('not written');
    child.warn({ req: { headers: { authorization: 'Bearer SECRET' } } }, 'written');
    child.error('also written');
    const written = lines();
    assert.deepEqual(written.map((l) => l.msg), ['written', 'also written']);
    assert.ok(written.every((l) => l.reqId === 'r-1'));
    assert.doesNotMatch(JSON.stringify(written), /SECRET/);
  });

  it("a child of the request logger keeps the request's binding", () => {
    const { log, lines } = sinkLogger('info');
    lazyChildLogger(log, { reqId: 'r-2' }, {}).child({ module: 'x' }).info('hello');
    assert.deepEqual(lines().map((l) => [l.reqId, l.module, l.msg]), [['r-2', 'x', 'hello']]);
  });

  it("a route's own log level wins over the server's", () => {
    const { log, lines } = sinkLogger('info');
    lazyChildLogger(log, { reqId: 'r-3' }, { level: 'debug' }).debug('route debug');
    assert.deepEqual(lines().map((l) => l.msg), ['route debug']);
  });
});

describe('request lines', () => {
  it('name no client address, also where a path holds one (lifting its rate-limit block)', () => {
    const out: string[] = [];
    const log = pino(loggerOptions('info', logNetworkOf), new Writable({ write: (chunk, _enc, cb) => (out.push(String(chunk)), cb()) }));
    log.info({ req: { method: 'DELETE', url: '/v1/projects/prj_1/rate-limit-blocks/ip/203.0.113.77?x=1', ip: '198.51.100.9' } }, 'lifted');
    log.info({ req: { method: 'DELETE', url: '/v1/projects/prj_1/rate-limit-blocks/ip/2001%3Adb8%3A1%3A2%3A%3A%2F64', ip: '198.51.100.9' } }, 'lifted');
    log.info({ req: { method: 'DELETE', url: '/v1/projects/prj_1/rate-limit-blocks/%69p/203.0.113.77', ip: '198.51.100.9' } }, 'encoded');
    log.info({ req: { method: 'DELETE', url: '/v1/projects/prj_1/rate-limit-blocks/ip/203.0.113.77%E0%A4%A', ip: '198.51.100.9' } }, 'malformed');
    const reqs = out.map((l) => JSON.parse(l).req);
    assert.deepEqual(reqs.map((r) => r.url), [
      '/v1/projects/prj_1/rate-limit-blocks/ip/203.0.113.0/24',
      '/v1/projects/prj_1/rate-limit-blocks/ip/2001:db8:1::/48',
      '/v1/projects/prj_1/rate-limit-blocks/ip/203.0.113.0/24',
      '/v1/projects/prj_1/rate-limit-blocks/ip/invalid',
    ]);
    assert.equal(reqs[0].remoteNetwork, '198.51.100.0/24');
  });
});
