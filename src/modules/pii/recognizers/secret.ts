/**
 * API secrets and tokens: known vendor prefixes, private-key blocks, values after a password
 * cue, and long high-entropy strings. UUIDs and bare hex digests need context to count.
 */
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, windowHas } from '../context.ts';

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
const KNOWN_FULL_RE = new RegExp(`(?<![\\w-])(?:${KNOWN_RE.source})(?![\\w-])`, 'g');
const PEM_RE = /^-----BEGIN [A-Z ]{0,24}PRIVATE KEY-----[\s\S]{0,8000}-----END [A-Z ]{0,24}PRIVATE KEY-----/;
const PASSWORD_RE =
  /(?:password|passwort|kennwort|passwd|pwd|mot de passe|contraseña|clave|pin)\s{0,3}(?:is|:|=|ist|est|es|lautet)\s{0,3}["'`]?([^\s"'`]{4,128})/gi;
const TOKEN_RE = /(?<![\w\-+/=.])[A-Za-z0-9_\-+/=]{24,512}(?![\w\-+/=])/g;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY_WORDS = ['key', 'token', 'secret', 'bearer', 'password', 'credential', 'auth', 'apikey', 'api_key', 'schlüssel', 'clé', 'clave'];

function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
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

export function recognizeSecrets({ text, lower }: ScanInput, out: Finding[]): void {
  KNOWN_FULL_RE.lastIndex = 0;
  for (let m = KNOWN_FULL_RE.exec(text); m; m = KNOWN_FULL_RE.exec(text)) push(out, m.index, m.index + m[0].length, 0.95);
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
  PASSWORD_RE.lastIndex = 0;
  for (let m = PASSWORD_RE.exec(text); m; m = PASSWORD_RE.exec(text)) {
    const v = m[1] ?? '';
    const start = m.index + m[0].length - v.length;
    push(out, start, start + v.length, 0.8);
  }
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(text); m; m = TOKEN_RE.exec(text)) {
    const base = genericScore(m[0]);
    if (base === 0) continue;
    const end = m.index + m[0].length;
    const ctx = windowHas(lower, m.index, end, KEY_WORDS, 40) ? 0.35 : 0;
    if (base + ctx >= 0.5) push(out, m.index, end, clamp01(base + ctx));
  }
}
