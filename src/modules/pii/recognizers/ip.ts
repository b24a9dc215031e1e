/** IPv4 (from number runs) and IPv6 (its own bounded scan, pre-filtered on "::" or hex groups). */
import type { NumberRun } from '../number-runs.ts';
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, hasAnyWord, wordsAround } from '../context.ts';

export const IP_CONTEXT: ReadonlySet<string> = new Set([
  'ip', 'ipv4', 'ipv6', 'address', 'addr', 'server', 'host', 'client', 'adresse', 'dirección', 'blocked', 'from',
]);

const VERSION_WORDS: ReadonlySet<string> = new Set(['version', 'v', 'release', 'build', 'ver', 'versión']);

export function ipv4Score(run: NumberRun, text: string): number {
  if (run.seps !== '...' || run.groups.length !== 4) return 0;
  const parts = text.slice(run.start, run.end).split('.');
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || Number(p) > 255) return 0;
    if (p.length > 1 && p[0] === '0') return 0;
  }
  return 0.6;
}

export function ipv4Context(words: readonly string[]): number {
  if (hasAnyWord(words, VERSION_WORDS)) return -1;
  return hasAnyWord(words, IP_CONTEXT) ? 0.3 : 0;
}

const IPV6_RE = /(?<![\w:.])(?:[0-9a-f]{1,4}:){1,7}(?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?|[0-9a-f]{1,4})(?![\w:])/gi;

function ipv6Valid(s: string): boolean {
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  const groups = s.split(':').filter((g) => g.length > 0);
  if (dbl.length === 1) return groups.length === 8;
  return groups.length <= 7 && groups.length >= 2;
}

export function recognizeIpv6({ text, lower }: ScanInput, out: Finding[]): void {
  if (!text.includes(':')) return;
  IPV6_RE.lastIndex = 0;
  for (let m = IPV6_RE.exec(text); m; m = IPV6_RE.exec(text)) {
    const s = m[0];
    // A time ("12:30:45") or a ratio is all decimal; a real IPv6 address has hex or "::".
    if (!ipv6Valid(s) || (!/[a-f]/i.test(s) && !s.includes('::'))) continue;
    const words = wordsAround(lower, m.index, m.index + s.length);
    out.push({ type: 'IP_ADDRESS', start: m.index, end: m.index + s.length, score: clamp01(0.7 + ipv4Context(words)) });
  }
}
