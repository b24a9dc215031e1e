/**
 * Person names without a model: runs of capitalised words scored by a name lexicon, initials,
 * name particles and cues such as "my name is", "Dear" or "Mr.". A common word is never a name
 * by itself; a known first name or a cue is needed.
 */
import type { Finding, ScanInput } from '../types.ts';
import { nameLexicon, type NameLexicon } from '../name-lexicon.ts';
import { clamp01 } from '../context.ts';

// The lookbehind follows the first letter so the engine can skip ahead to capitals quickly.
const CAP_RE = /\p{Lu}(?<![\p{L}\p{N}_@.]\p{Lu})[\p{L}'’-]{0,30}\.?/gu;
const PARTICLES = new Set(['van', 'von', 'der', 'den', 'de', 'la', 'le', 'du', 'di', 'da', 'dos', 'das', 'del', 'zu', 'y', 'ten', 'ter', 'bin', 'al']);
const TITLES = new Set(['mr', 'mrs', 'ms', 'miss', 'dr', 'prof', 'sir', 'herr', 'herrn', 'frau', 'monsieur', 'madame', 'mme', 'mlle', 'm', 'señor', 'señora', 'sr', 'sra', 'srta', 'don', 'doña', 'dear', 'liebe', 'lieber', 'chère', 'cher', 'estimado', 'estimada']);
const CUES = [
  'my name is ', 'name is ', 'i am ', "i'm ", 'this is ', 'name: ', 'hi ', 'hello ', 'hey ', 'thanks ', 'thank you ',
  'regards,\n', 'regards, ', 'cheers,\n', 'from ', 'call me ', 'named ', 'called ', 'contact ', 'ask for ', 'signed ',
  'ich heiße ', 'mein name ist ', 'ich bin ', 'grüße,\n', 'grüße\n', 'je m’appelle ', "je m'appelle ", 'je suis ', 'mon nom est ', 'nom : ',
  'me llamo ', 'mi nombre es ', 'soy ', 'nombre: ', 'saludos,\n', 'cordialement,\n',
];

interface Tok {
  start: number;
  end: number;
  key: string;
}

function isInitial(t: Tok): boolean {
  return t.key.length === 1;
}

function tokenWeight(t: Tok, lex: NameLexicon): 'first' | 'last' | 'weak' | 'common' | 'initial' | 'unknown' {
  if (isInitial(t)) return 'initial';
  if (lex.ambiguous.has(t.key)) return 'weak';
  if (lex.common.has(t.key)) return 'common';
  if (lex.first.has(t.key)) return 'first';
  if (lex.last.has(t.key)) return 'last';
  return 'unknown';
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const CUE_RE = new RegExp(
  `(?:${[...CUES, ...[...TITLES].flatMap((t) => (t.length > 1 ? [`${t} `, `${t}. `] : [`${t}. `]))].map(escape).join('|')})$`,
);

function hasCue(lower: string, start: number): boolean {
  return CUE_RE.test(lower.slice(Math.max(0, start - 16), start));
}

function scoreGroup(toks: Tok[], input: ScanInput, lex: NameLexicon, out: Finding[]): void {
  let cue = false;
  while (toks.length > 0 && TITLES.has(toks[0]?.key ?? '')) {
    toks = toks.slice(1);
    cue = true;
  }
  const kinds = toks.map((t) => tokenWeight(t, lex));
  let a = 0;
  let b = toks.length;
  while (a < b && (kinds[a] === 'common' || kinds[a] === 'initial')) a++;
  // "Can Anna call?": a sentence-initial common word in front of a name is not part of it.
  const lead = toks[a];
  if (lead && b - a > 1 && kinds[a] === 'weak' && lex.common.has(lead.key) && /(^|[.!?\n]\s*)$/.test(input.text.slice(Math.max(0, lead.start - 3), lead.start))) a++;
  while (b > a && (kinds[b - 1] === 'common' || kinds[b - 1] === 'initial')) b--;
  if (a >= b) return;
  const head = toks[a];
  const tail = toks[b - 1];
  if (!head || !tail) return;
  cue ||= hasCue(input.lower, head.start);
  const k = kinds.slice(a, b);
  if (k.includes('common')) return scoreGroup(toks.slice(a + k.indexOf('common') + 1), input, lex, out);
  const n = k.filter((x) => x !== 'initial').length;
  const firsts = k.filter((x) => x === 'first').length;
  const lasts = k.filter((x) => x === 'last').length;
  let score = 0;
  if (cue) score = 0.85;
  else if (n >= 2 && k[0] === 'first') score = 0.8;
  else if (n >= 2 && (firsts > 0 || lasts >= 2 || (k[0] === 'weak' && lasts > 0))) score = 0.6;
  else if (n >= 2 && lasts > 0) score = 0.45;
  else if (n === 1 && k[0] === 'first') score = 0.55;
  else if (n === 1 && k[0] === 'last') score = 0.3;
  if (score === 0) return;
  // A sentence-initial single word is often just a capitalised word.
  const prev = input.text.slice(Math.max(0, head.start - 2), head.start);
  if (n === 1 && !cue && (head.start === 0 || /[.!?]\s$/.test(prev))) score -= 0.15;
  out.push({ type: 'PERSON', start: head.start, end: tail.end, score: clamp01(score) });
}

export function recognizePersons(input: ScanInput, out: Finding[]): void {
  const { text } = input;
  const lex = nameLexicon();
  let group: Tok[] = [];
  const flush = (): void => {
    if (group.length > 0) scoreGroup(group, input, lex, out);
    group = [];
  };
  CAP_RE.lastIndex = 0;
  for (let m = CAP_RE.exec(text); m; m = CAP_RE.exec(text)) {
    let word = m[0];
    const dotted = word.endsWith('.');
    if (dotted) word = word.slice(0, -1);
    const tok: Tok = { start: m.index, end: m.index + (dotted && word.length === 1 ? 2 : word.length), key: word.toLowerCase() };
    const last = group[group.length - 1];
    if (last) {
      const gap = text.slice(last.end, tok.start);
      const joined = gap === ' ' || (gap.length < 12 && gap.startsWith(' ') && gap.endsWith(' ') && gap.trim().split(' ').every((p) => PARTICLES.has(p)));
      const afterTitle = text[last.end] === '.' && gap === '. ' && TITLES.has(last.key);
      if (!(joined || afterTitle) || group.length >= 5) flush();
    }
    group.push(tok);
    if (dotted && word.length > 1 && !TITLES.has(tok.key)) flush();
  }
  flush();
}
