/**
 * Server-sent events → the `data` of each event, as text. Only what the Chat Completions
 * stream uses: `data:` lines joined per event; comments, `event:` and `id:` lines ignored. It
 * caps what it buffers and never interprets the payloads.
 */
import { AppError } from '../../../platform/http/errors.ts';

export async function* sseData(chunks: AsyncIterable<string>, maxBytes: number): AsyncGenerator<string> {
  // Only each new chunk is searched for line breaks (re-splitting the buffered line on every chunk
  // cost the square of a long line: 1 MB dripped in 50-byte chunks took 22 s of CPU).
  const lineBreak = /\r\n|\r|\n/g;
  let partial = '';
  // The last chunk ended in "\r": a "\n" opening the next one ends the same line.
  let afterCr = false;
  let data: string[] = [];
  let seen = 0;
  const line = (text: string): string | null => {
    if (text === '') {
      const event = data.length > 0 ? data.join('\n') : null;
      data = [];
      return event;
    }
    if (text.startsWith('data:')) data.push(text.slice(text.startsWith('data: ') ? 6 : 5));
    return null;
  };
  for await (const chunk of chunks) {
    seen += chunk.length;
    if (seen > maxBytes) throw new AppError('provider_error', 'The answer provider sent more than an answer can hold.');
    let from: number = afterCr && chunk.startsWith('\n') ? 1 : 0;
    afterCr = false;
    lineBreak.lastIndex = from;
    for (let m = lineBreak.exec(chunk); m !== null; m = lineBreak.exec(chunk)) {
      const text = partial + chunk.slice(from, m.index);
      partial = '';
      from = m.index + m[0].length;
      afterCr = m[0] === '\r' && from === chunk.length;
      const event = line(text);
      if (event !== null) yield event;
    }
    partial += chunk.slice(from);
  }
  if (partial !== '') line(partial);
  const event = line('');
  if (event !== null) yield event;
}
