import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { loggerOptions } from './logging.ts';
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
