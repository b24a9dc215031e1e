import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSseParser, type SseEvent } from './sse.ts';

function parse(chunks: readonly string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

describe('createSseParser', () => {
  it('reads named events with JSON data', () => {
    assert.deepEqual(parse(['event: meta\ndata: {"conversationId":"conv_1"}\n\nevent: delta\ndata: {"text":"Hi"}\n\n']), [
      { event: 'meta', data: '{"conversationId":"conv_1"}' },
      { event: 'delta', data: '{"text":"Hi"}' },
    ]);
  });

  it('handles events split anywhere across chunks, and CRLF split between chunks', () => {
    const text = 'event: delta\r\ndata: {"text":"a"}\r\n\r\nevent: done\r\ndata: {}\r\n\r\n';
    const expected = [
      { event: 'delta', data: '{"text":"a"}' },
      { event: 'done', data: '{}' },
    ];
    for (let cut = 0; cut <= text.length; cut++) {
      assert.deepEqual(parse([text.slice(0, cut), text.slice(cut)]), expected, `cut at ${cut}`);
    }
    assert.deepEqual(parse([...text]), expected);
  });

  it('joins multi-line data, ignores comments and unknown fields, defaults the type', () => {
    assert.deepEqual(parse([': ping\nid: 7\nretry: 10\ndata: one\ndata:two\n\n']), [{ event: 'message', data: 'one\ntwo' }]);
  });

  it('dispatches nothing for an event without data or without its blank line', () => {
    assert.deepEqual(parse(['event: done\n\n', 'event: delta\ndata: {"text":"cut"}\n']), []);
  });
});
