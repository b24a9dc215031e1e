/**
 * Server-sent events → the `data` of each event, as text. Only what the Chat Completions
 * stream uses: `data:` lines joined per event; comments, `event:` and `id:` lines ignored. It
 * caps what it buffers and never interprets the payloads.
 */
import { AppError } from '../../../platform/http/errors.ts';

export async function* sseData(chunks: AsyncIterable<string>, maxBytes: number): AsyncGenerator<string> {
  let buffer = '';
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
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const text of lines) {
      const event = line(text);
      if (event !== null) yield event;
    }
  }
  if (buffer !== '') line(buffer);
  const event = line('');
  if (event !== null) yield event;
}
