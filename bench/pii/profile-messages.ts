/** Joins corpus messages into ~1 KB messages, as the throughput benchmark does. */
export function toMessages(texts: readonly string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const t of texts) {
    cur += (cur ? '\n' : '') + t;
    if (cur.length >= 1024) {
      out.push(cur.slice(0, 1024));
      cur = '';
    }
  }
  return out;
}
