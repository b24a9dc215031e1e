/** E-mail addresses: found from each "@" by a bounded expansion to both sides (no regex backtracking). */
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, phraseSet, windowHas } from '../context.ts';

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** [A-Za-z0-9._%+\-'] */
function isLocalChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45 || c === 39;
}

/** [A-Za-z0-9.\-] */
function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 45;
}
const CONTEXT = phraseSet(['mail', 'courriel', 'correo', 'contact', 'write', 'send']);

export function recognizeEmail({ text, lower }: ScanInput, out: Finding[]): void {
  let at = text.indexOf('@');
  let floor = 0;
  while (at !== -1) {
    let s = at;
    while (s > floor && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    while (s < at && (text[s] === '.' || text[s] === "'")) s++;
    let e = at + 1;
    while (e < text.length && e - at < 253 && isDomainChar(text.charCodeAt(e))) e++;
    while (e > at + 1 && (text[e - 1] === '.' || text[e - 1] === '-')) e--;
    const domain = text.slice(at + 1, e);
    const dot = domain.lastIndexOf('.');
    const tld = dot > 0 ? domain.slice(dot + 1) : '';
    if (s < at && dot > 0 && /^[A-Za-z]{2,24}$/.test(tld) && !domain.includes('..') && !text.slice(s, at).includes('..')) {
      out.push({ type: 'EMAIL', start: s, end: e, score: clamp01(0.9 + (windowHas(lower, s, e, CONTEXT) ? 0.1 : 0)) });
      floor = e;
    }
    at = text.indexOf('@', Math.max(at + 1, e));
  }
}
