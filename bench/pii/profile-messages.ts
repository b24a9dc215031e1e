/**
 * Joins corpus messages into ~1 KB messages, as the throughput benchmark times them. Each is
 * handed over as the server hands a message to the engine: a string of its own, as JSON.parse
 * makes it. A slice() of the joined text would be a view into it, which V8 reads more slowly
 * character by character, and which no request body ever is.
 */
export function toMessages(texts: readonly string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const t of texts) {
    cur += (cur ? '\n' : '') + t;
    if (cur.length >= 1024) {
      out.push(JSON.parse(JSON.stringify(cur.slice(0, 1024))) as string);
      cur = '';
    }
  }
  return out;
}
