/** IPv4 (from number runs) and IPv6 (its own bounded scan, pre-filtered on "::" or hex groups). */
import type { NumberRun } from '../number-runs.ts';
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, flagsAround, wordIndex } from '../context.ts';

export const IP_CONTEXT: ReadonlySet<string> = new Set([
  'ip', 'ipv4', 'ipv6', 'address', 'addr', 'server', 'host', 'client', 'adresse', 'dirección', 'blocked', 'from',
]);

export const VERSION_WORDS: ReadonlySet<string> = new Set(['version', 'v', 'release', 'build', 'ver', 'versión']);

export function ipv4Score(run: NumberRun, text: string): number {
  if (run.seps !== '...' || run.groups.length !== 4) return 0;
  // Four dot-separated parts of digits (the run has no other characters): each 0-255, no leading zero.
  let from = run.start;
  for (let i = run.start; i <= run.end; i++) {
    if (i < run.end && text.charCodeAt(i) !== 46) continue;
    const len = i - from;
    if (len === 0 || len > 3 || Number(text.slice(from, i)) > 255) return 0;
    if (len > 1 && text.charCodeAt(from) === 48) return 0;
    from = i + 1;
  }
  return 0.6;
}

const IP = 1;
const VERSION = 2;
const IP_WORDS = wordIndex([[IP_CONTEXT, IP], [VERSION_WORDS, VERSION]]);

/** Context of an address: -1 (not an address) near version words, +0.3 near IP words. */
export function ipv4Context(nearIpWords: boolean, nearVersionWords: boolean): number {
  if (nearVersionWords) return -1;
  return nearIpWords ? 0.3 : 0;
}

/** Sticky at the start of the one to four hex digits before a colon (see ipv6Start). */
const IPV6_RE = /(?:[0-9a-f]{1,4}:){1,7}(?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?|[0-9a-f]{1,4})(?![\w:])/iy;

function ipv6Valid(s: string): boolean {
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  const groups = s.split(':').filter((g) => g.length > 0);
  if (dbl.length === 1) return groups.length === 8;
  return groups.length <= 7 && groups.length >= 2;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
}

function isWordColonOrDot(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58 || c === 46;
}

/**
 * Where an address containing the colon at c must start: every address opens with one to four
 * hex digits and a colon, and no word character, colon or dot may precede it. -1 if none.
 */
function ipv6Start(text: string, c: number): number {
  let s = c;
  while (s > 0 && c - s < 5 && isHex(text.charCodeAt(s - 1))) s--;
  if (s === c || c - s > 4) return -1;
  return s > 0 && isWordColonOrDot(text.charCodeAt(s - 1)) ? -1 : s;
}

export function recognizeIpv6({ text, lower }: ScanInput, out: Finding[]): void {
  let floor = 0;
  for (let c = text.indexOf(':'); c !== -1; c = text.indexOf(':', c + 1)) {
    const start = ipv6Start(text, c);
    if (start < floor) continue;
    IPV6_RE.lastIndex = start;
    const m = IPV6_RE.exec(text);
    if (!m) continue;
    const s = m[0];
    floor = start + s.length;
    // A time ("12:30:45") or a ratio is all decimal; a real IPv6 address has hex or "::".
    if (!ipv6Valid(s) || (!/[a-f]/i.test(s) && !s.includes('::'))) continue;
    const flags = flagsAround(lower, start, start + s.length, IP_WORDS);
    out.push({ type: 'IP_ADDRESS', start, end: start + s.length, score: clamp01(0.7 + ipv4Context((flags & IP) !== 0, (flags & VERSION) !== 0)) });
  }
}
