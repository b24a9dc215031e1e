import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sseData } from './sse.ts';

async function* from(chunks: readonly string[]): AsyncGenerator<string> {
  for (const c of chunks) yield c;
}

async function events(chunks: readonly string[], maxBytes = 10_000_000): Promise<string[]> {
  const out: string[] = [];
  for await (const e of sseData(from(chunks), maxBytes)) out.push(e);
  return out;
}

describe('sseData', () => {
  it('joins data lines per event, ignores comments and other fields, accepts every line ending', async () => {
    const stream = ': comment\nevent: x\nid: 1\ndata: {"a":1}\n\ndata:two\ndata: lines\r\n\r\ndata: cr\r\rdata: last';
    assert.deepEqual(await events([stream]), ['{"a":1}', 'two\nlines', 'cr', 'last']);
  });

  it('gives the same events however the stream is cut, "\\r\\n" split between chunks included', async () => {
    const stream = 'data: one\r\n\r\ndata: two\r\ndata: more\r\n\r\ndata: three\n\n';
    const whole = await events([stream]);
    assert.deepEqual(whole, ['one', 'two\nmore', 'three']);
    for (let size = 1; size <= 7; size++) {
      const pieces = stream.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? [];
      assert.deepEqual(await events(pieces), whole, `pieces of ${size}`);
    }
  });

  it('reads a long line dripped in small chunks in linear time (it re-split the whole line per chunk: 22 s)', async () => {
    const chunks = ['data: ', ...Array.from({ length: 20_000 }, () => 'a'.repeat(50)), '\n\n'];
    const started = performance.now();
    const out = await events(chunks);
    assert.equal(out[0]?.length, 1_000_000);
    assert.ok(performance.now() - started < 1_000, `${Math.round(performance.now() - started)} ms`);
  });

  it('refuses a stream larger than maxBytes', async () => {
    await assert.rejects(events(['data: ' + 'a'.repeat(100), '\n\n'], 50), (e: Error & { code?: string }) => e.code === 'provider_error');
  });
});
