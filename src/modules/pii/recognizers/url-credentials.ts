/** Credentials embedded in URLs ("postgres://user:secret@host"): the userinfo part is the finding. */
import type { Finding, ScanInput } from '../types.ts';

/** Sticky at the start of the scheme in front of a "://" (see schemeStart). */
const URL_CRED_RE = /[a-z][a-z0-9+.\-]{1,15}:\/\/([^\s:@\/?#]{1,128}):([^\s@\/?#]{1,256})@[\w.\-]{1,253}/iy;

function isSchemeChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 46 || c === 45;
}

/**
 * The scheme before the "://" at c starts where the run of scheme characters starts (a start
 * inside the run would follow a scheme character); "_" right before it rules it out. -1 if none.
 */
function schemeStart(text: string, c: number): number {
  let s = c;
  while (s > 0 && c - s <= 16 && isSchemeChar(text.charCodeAt(s - 1))) s--;
  if (c - s < 2 || c - s > 16 || (s > 0 && text.charCodeAt(s - 1) === 95)) return -1;
  return s;
}

export function recognizeUrlCredentials({ text }: ScanInput, out: Finding[]): void {
  let floor = 0;
  for (let c = text.indexOf('://'); c !== -1; c = text.indexOf('://', c + 1)) {
    const at = schemeStart(text, c);
    if (at < floor) continue;
    URL_CRED_RE.lastIndex = at;
    const m = URL_CRED_RE.exec(text);
    if (!m) continue;
    const start = at + m[0].indexOf('://') + 3;
    const end = start + (m[1]?.length ?? 0) + 1 + (m[2]?.length ?? 0);
    out.push({ type: 'URL_CREDENTIALS', start, end, score: 0.95 });
    floor = at + m[0].length;
  }
}
