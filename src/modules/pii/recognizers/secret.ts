/**
 * API secrets and tokens: known vendor prefixes, private-key blocks, values after a password
 * cue, and long high-entropy strings. UUIDs and bare hex digests need context to count.
 */
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, phraseSet, windowHas } from '../context.ts';
import { knownPrefixPositions } from './secret-prefixes.ts';

const KNOWN_RE = new RegExp(
  [
    '(?:AKIA|ASIA)[0-9A-Z]{16}',
    'gh[pousr]_[A-Za-z0-9]{36,255}',
    'github_pat_[A-Za-z0-9_]{22,255}',
    'sk-(?:proj-|ant-)?[A-Za-z0-9_\\-]{20,200}',
    'xox[abposr]-[A-Za-z0-9\\-]{10,200}',
    'glpat-[A-Za-z0-9_\\-]{20,64}',
    'AIza[0-9A-Za-z_\\-]{35}',
    '[sr]k_(?:live|test)_[A-Za-z0-9]{16,200}',
    'SG\\.[A-Za-z0-9_\\-]{16,32}\\.[A-Za-z0-9_\\-]{16,64}',
    'npm_[A-Za-z0-9]{36}',
    'hf_[A-Za-z0-9]{30,64}',
    'eyJ[A-Za-z0-9_\\-]{8,2000}\\.eyJ[A-Za-z0-9_\\-]{8,4000}\\.[A-Za-z0-9_\\-]{8,2000}',
  ].join('|'),
  'g',
);
/** Sticky: tried only where a vendor prefix starts a word (see secret-prefixes.ts). */
const KNOWN_AT_RE = new RegExp(`(?:${KNOWN_RE.source})(?![\\w-])`, 'y');
const PEM_RE = /^-----BEGIN [A-Z ]{0,24}PRIVATE KEY-----[\s\S]{0,8000}-----END [A-Z ]{0,24}PRIVATE KEY-----/;
/** Sticky: tried only where PASSWORD_CUE_RE finds a cue in the lower-cased text. */
const PASSWORD_RE =
  /(?:password|passwort|kennwort|passwd|pwd|mot de passe|contraseña|clave|pin)\s{0,3}(?:is|:|=|ist|est|es|lautet)\s{0,3}["'`]?([^\s"'`]{4,128})/iy;
const PASSWORD_CUE_RE = /passw|kennwort|pwd|mot de passe|contraseña|clave|pin/g;
/** Generic tokens: maximal runs of [A-Za-z0-9_\-+/=] of 24 to 512 characters not right after a ".". */
const TOKEN_MIN = 24;
const TOKEN_MAX = 512;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY_WORDS = phraseSet(['key', 'token', 'secret', 'bearer', 'password', 'credential', 'auth', 'apikey', 'api_key', 'schlüssel', 'clé', 'clave']);

/** Character counts for entropy(), zeroed again after each use (one allocation per process, not per run). */
const counts = new Uint16Array(128);

/** Shannon entropy per character of a token run (ASCII only), summed in order of first occurrence. */
function entropy(s: string): number {
  const seen: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 127;
    const n = counts[c] ?? 0;
    if (n === 0) seen.push(c);
    counts[c] = n + 1;
  }
  let h = 0;
  for (const c of seen) {
    const p = (counts[c] ?? 0) / s.length;
    h -= p * Math.log2(p);
    counts[c] = 0;
  }
  return h;
}

function genericScore(s: string): number {
  if (UUID_RE.test(s) || (s.match(/\//g)?.length ?? 0) > 2) return 0;
  const classes = Number(/[a-z]/.test(s)) + Number(/[A-Z]/.test(s)) + Number(/\d/.test(s));
  if (!/\d/.test(s) || classes < 2) return 0;
  if (/^[0-9a-f]+$/i.test(s)) return 0.3;
  if (/^[A-Za-z]+[-_][A-Za-z]+/.test(s) && !/\d{2}/.test(s)) return 0;
  return entropy(s) >= 4 ? 0.6 : 0;
}

function push(out: Finding[], start: number, end: number, score: number): void {
  out.push({ type: 'SECRET', start, end, score });
}

function isWordOrDash(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

/** Vendor formats, as a global search of (?<![\w-])(?:KNOWN)(?![\w-]) would find them. */
function knownSecrets(text: string, out: Finding[]): void {
  let floor = 0;
  for (const at of knownPrefixPositions(text)) {
    if (at < floor || (at > 0 && isWordOrDash(text.charCodeAt(at - 1)))) continue;
    KNOWN_AT_RE.lastIndex = at;
    const k = KNOWN_AT_RE.exec(text);
    if (!k) continue;
    push(out, at, at + k[0].length, 0.95);
    floor = at + k[0].length;
  }
}

/** Values after a password cue ("password: hunter2"), tried only where a cue occurs. */
function passwords(text: string, lower: string, out: Finding[]): void {
  let floor = 0;
  PASSWORD_CUE_RE.lastIndex = 0;
  for (let c = PASSWORD_CUE_RE.exec(lower); c; c = PASSWORD_CUE_RE.exec(lower)) {
    const at = c.index;
    PASSWORD_CUE_RE.lastIndex = at + 1;
    if (at < floor) continue;
    PASSWORD_RE.lastIndex = at;
    const m = PASSWORD_RE.exec(text);
    if (!m) continue;
    const v = m[1] ?? '';
    const start = at + m[0].length - v.length;
    push(out, start, start + v.length, 0.8);
    floor = at + m[0].length;
  }
}

/** [A-Za-z0-9_\-+/=] by ASCII code unit. */
const TOKEN_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  TOKEN_CHARS[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 43 || c === 47 || c === 61 ? 1 : 0;
}

function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN_CHARS[c] === 1;
}

/** True when text[from, to) are all token characters. */
function allTokenChars(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Token runs as /(?<![\w\-+/=.])[A-Za-z0-9_\-+/=]{24,512}(?![\w\-+/=])/g finds them, looking at
 * every twelfth character only: a run of 24 or more covers two neighbouring samples and all the
 * characters between them, so a run is measured only where that holds.
 */
export function tokenRuns(text: string): [number, number][] {
  const runs: [number, number][] = [];
  const step = TOKEN_MIN / 2;
  for (let p = step - 1; p + step < text.length; p += step) {
    if (!isTokenChar(text.charCodeAt(p)) || !isTokenChar(text.charCodeAt(p + step)) || !allTokenChars(text, p + 1, p + step)) continue;
    let e = p + step + 1;
    while (e < text.length && isTokenChar(text.charCodeAt(e))) e++;
    let s = p;
    while (s > 0 && isTokenChar(text.charCodeAt(s - 1))) s--;
    if (e - s >= TOKEN_MIN && e - s <= TOKEN_MAX && (s === 0 || text.charCodeAt(s - 1) !== 46)) runs.push([s, e]);
    // The next pair of samples starts after this run.
    while (p + step < e) p += step;
  }
  return runs;
}

export function recognizeSecrets({ text, lower }: ScanInput, out: Finding[]): void {
  knownSecrets(text, out);
  for (let b = text.indexOf('-----BEGIN'); b !== -1; ) {
    const e = text.indexOf('-----END', b);
    if (e === -1) break;
    // Only the last BEGIN before an END can open a block, so each character is looked at a bounded number of times.
    const last = text.lastIndexOf('-----BEGIN', e);
    PEM_RE.lastIndex = last;
    const m = PEM_RE.exec(text.slice(last, Math.min(text.length, e + 64)));
    if (m && m.index === 0) push(out, last, last + m[0].length, 1);
    b = text.indexOf('-----BEGIN', e);
  }
  passwords(text, lower, out);
  for (const [start, end] of tokenRuns(text)) {
    const base = genericScore(text.slice(start, end));
    if (base === 0) continue;
    const ctx = windowHas(lower, start, end, KEY_WORDS, 40) ? 0.35 : 0;
    if (base + ctx >= 0.5) push(out, start, end, clamp01(base + ctx));
  }
}
