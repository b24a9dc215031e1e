/** E-mail addresses: found from each "@" by a bounded expansion to both sides (no regex backtracking). */
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, windowHas } from '../context.ts';

const LOCAL = /[A-Za-z0-9._%+\-']/;
const DOMAIN = /[A-Za-z0-9.\-]/;
const CONTEXT = ['mail', 'courriel', 'correo', 'contact', 'write', 'send'];

export function recognizeEmail({ text, lower }: ScanInput, out: Finding[]): void {
  let at = text.indexOf('@');
  let floor = 0;
  while (at !== -1) {
    let s = at;
    while (s > floor && at - s < 64 && LOCAL.test(text[s - 1] ?? '')) s--;
    while (s < at && (text[s] === '.' || text[s] === "'")) s++;
    let e = at + 1;
    while (e < text.length && e - at < 253 && DOMAIN.test(text[e] ?? '')) e++;
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
