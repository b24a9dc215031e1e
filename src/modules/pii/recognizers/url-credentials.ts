/** Credentials embedded in URLs ("postgres://user:secret@host"): the userinfo part is the finding. */
import type { Finding, ScanInput } from '../types.ts';

const URL_CRED_RE = /(?<![\w+.-])[a-z][a-z0-9+.\-]{1,15}:\/\/([^\s:@\/?#]{1,128}):([^\s@\/?#]{1,256})@[\w.\-]{1,253}/gi;

export function recognizeUrlCredentials({ text }: ScanInput, out: Finding[]): void {
  if (!text.includes('://')) return;
  URL_CRED_RE.lastIndex = 0;
  for (let m = URL_CRED_RE.exec(text); m; m = URL_CRED_RE.exec(text)) {
    const start = m.index + m[0].indexOf('://') + 3;
    const end = start + (m[1]?.length ?? 0) + 1 + (m[2]?.length ?? 0);
    out.push({ type: 'URL_CREDENTIALS', start, end, score: 0.95 });
  }
}
