/**
 * Person names without a model: runs of capitalised words scored by a name lexicon, initials,
 * name particles and cues such as "my name is", "Dear" or "Mr.". A common word is never a name
 * by itself; a known first name or a cue is needed.
 */
import type { Finding, ScanInput } from '../types.ts';
import { isWhitespaceAt } from '../char-class.ts';
import { nameLexicon, type NameWeight } from '../name-lexicon.ts';
import { wordTable, type WordTable } from '../word-table.ts';
import { clamp01 } from '../context.ts';
import { nextCapitalised, type CapitalisedWord } from './capitalised.ts';

const PARTICLES = new Set(['van', 'von', 'der', 'den', 'de', 'la', 'le', 'du', 'di', 'da', 'dos', 'das', 'del', 'zu', 'y', 'ten', 'ter', 'bin', 'al']);
const MAX_PARTICLE = Math.max(...[...PARTICLES].map((p) => p.length));
const TITLES = new Set(['mr', 'mrs', 'ms', 'miss', 'dr', 'prof', 'sir', 'herr', 'herrn', 'frau', 'monsieur', 'madame', 'mme', 'mlle', 'm', 'señor', 'señora', 'sr', 'sra', 'srta', 'don', 'doña', 'dear', 'liebe', 'lieber', 'chère', 'cher', 'estimado', 'estimada']);
const CUES = [
  'my name is ', 'name is ', 'i am ', "i'm ", 'this is ', 'name: ', 'hi ', 'hello ', 'hey ', 'thanks ', 'thank you ',
  'regards,\n', 'regards, ', 'cheers,\n', 'from ', 'call me ', 'named ', 'called ', 'contact ', 'ask for ', 'signed ',
  'ich heiße ', 'mein name ist ', 'ich bin ', 'grüße,\n', 'grüße\n', 'je m’appelle ', "je m'appelle ", 'je suis ', 'mon nom est ', 'nom : ',
  'me llamo ', 'mi nombre es ', 'soy ', 'nombre: ', 'saludos,\n', 'cordialement,\n',
];

type Kind = NameWeight | 'initial' | 'unknown';

interface Tok {
  start: number;
  end: number;
  kind: Kind;
  /** A title or salutation ("mr", "dear"). */
  title: boolean;
  /** In the common-word list (a "weak" name may be one too). */
  common: boolean;
}

const WEIGHTS: readonly NameWeight[] = ['first', 'last', 'weak', 'common'];
const WEIGHT_MASK = 7;
const TITLE = 8;
const COMMON = 16;

let table: WordTable | undefined;

/** The lexicon's weights and the title and common-word sets as bits of one table, built on first use. */
function nameTable(): WordTable {
  if (!table) {
    const lex = nameLexicon();
    const entries = new Map<string, number>();
    for (const [word, weight] of lex.weight) entries.set(word, WEIGHTS.indexOf(weight) + 1);
    for (const word of lex.common) entries.set(word, (entries.get(word) ?? 0) | COMMON);
    for (const word of TITLES) entries.set(word, (entries.get(word) ?? 0) | TITLE);
    table = wordTable(entries);
  }
  return table;
}

function tokenOf(start: number, end: number, keyLength: number, bits: number): Tok {
  const weight = bits & WEIGHT_MASK;
  // No WEIGHTS[-1] for a word without a weight: an out-of-bounds read takes V8's slow generic path.
  const kind: Kind = keyLength === 1 ? 'initial' : weight === 0 ? 'unknown' : (WEIGHTS[weight - 1] ?? 'unknown');
  return { start, end, kind, title: (bits & TITLE) !== 0, common: (bits & COMMON) !== 0 };
}

/** The two code units before a name, as one number: the key of the cue buckets. */
function pairKey(s: string, end: number): number {
  return s.charCodeAt(end - 2) * 65536 + s.charCodeAt(end - 1);
}

/** Every cue phrase, bucketed by its last two characters so a check looks at a handful, not all. */
const CUE_BUCKETS: ReadonlyMap<number, readonly string[]> = (() => {
  const all = [...CUES, ...[...TITLES].flatMap((t) => (t.length > 1 ? [`${t} `, `${t}. `] : [`${t}. `]))];
  const buckets = new Map<number, string[]>();
  // Only the 16 characters before a name are looked at, so longer cues could never match.
  for (const cue of all.filter((c) => c.length <= 16)) {
    const key = pairKey(cue, cue.length);
    buckets.set(key, [...(buckets.get(key) ?? []), cue]);
  }
  return buckets;
})();

/** True when a cue phrase ends right where the name starts. */
function hasCue(lower: string, start: number): boolean {
  if (start < 2) return false;
  const cues = CUE_BUCKETS.get(pairKey(lower, start));
  if (!cues) return false;
  for (const cue of cues) if (lower.endsWith(cue, start)) return true;
  return false;
}

/** A sentence-initial single word is often just a capitalised word. */
function sentenceInitial(text: string, start: number): boolean {
  if (start === 0) return true;
  // Not read before the text's start: that would make V8 reoptimise the function's reads slower.
  if (start < 2) return false;
  // /[.!?]\s$/ on the two characters before the word, without cutting them out.
  const p = text.charCodeAt(start - 2);
  if (p !== 46 && p !== 33 && p !== 63) return false;
  return isWhitespaceAt(text, start - 1);
}

/** scoreGroup() for the most frequent group, a single word, without building any arrays. */
function scoreSingle(t: Tok, input: ScanInput, out: Finding[]): void {
  if (t.kind === 'common' || t.kind === 'initial' || t.title) return;
  const cue = hasCue(input.lower, t.start);
  let score = cue ? 0.85 : t.kind === 'first' ? 0.55 : t.kind === 'last' ? 0.3 : 0;
  if (score === 0) return;
  if (!cue && sentenceInitial(input.text, t.start)) score -= 0.15;
  out.push({ type: 'PERSON', start: t.start, end: t.end, score: clamp01(score) });
}

function kindAt(toks: readonly Tok[], i: number): Kind | undefined {
  return toks[i]?.kind;
}

/** Scores the group toks[from..]; reads the tokens in place rather than slicing and mapping them. */
function scoreGroup(toks: Tok[], input: ScanInput, out: Finding[], from = 0): void {
  const single = toks.length - from === 1 ? toks[from] : undefined;
  if (single) return scoreSingle(single, input, out);
  let cue = false;
  while (from < toks.length && toks[from]?.title === true) {
    from++;
    cue = true;
  }
  let a = from;
  let b = toks.length;
  while (a < b && (kindAt(toks, a) === 'common' || kindAt(toks, a) === 'initial')) a++;
  // "Can Anna call?": a sentence-initial common word in front of a name is not part of it.
  const lead = toks[a];
  if (lead && b - a > 1 && kindAt(toks, a) === 'weak' && lead.common && /(^|[.!?\n]\s*)$/.test(input.text.slice(Math.max(0, lead.start - 3), lead.start))) a++;
  while (b > a && (kindAt(toks, b - 1) === 'common' || kindAt(toks, b - 1) === 'initial')) b--;
  if (a >= b) return;
  const head = toks[a];
  const tail = toks[b - 1];
  if (!head || !tail) return;
  cue ||= hasCue(input.lower, head.start);
  let n = 0;
  let firsts = 0;
  let lasts = 0;
  for (let i = a; i < b; i++) {
    const kind = kindAt(toks, i);
    if (kind === 'common') return scoreGroup(toks, input, out, i + 1);
    if (kind !== 'initial') n++;
    if (kind === 'first') firsts++;
    else if (kind === 'last') lasts++;
  }
  const k0 = kindAt(toks, a);
  let score = 0;
  if (cue) score = 0.85;
  else if (n >= 2 && k0 === 'first') score = 0.8;
  else if (n >= 2 && (firsts > 0 || lasts >= 2 || (k0 === 'weak' && lasts > 0))) score = 0.6;
  else if (n >= 2 && lasts > 0) score = 0.45;
  else if (n === 1 && k0 === 'first') score = 0.55;
  else if (n === 1 && k0 === 'last') score = 0.3;
  if (score === 0) return;
  if (n === 1 && !cue && sentenceInitial(input.text, head.start)) score -= 0.15;
  out.push({ type: 'PERSON', start: head.start, end: tail.end, score: clamp01(score) });
}

/** Particles between two capitalised words ("Ludwig van Beethoven") keep them in one name. */
function joinedByParticles(text: string, from: number, to: number): boolean {
  if (to - from === 1) return text.charCodeAt(from) === 32;
  if (to - from >= 12 || text.charCodeAt(from) !== 32 || text.charCodeAt(to - 1) !== 32) return false;
  // Every particle is lower-case ASCII: another ASCII character that trim() keeps rules the gap out before it is
  // split, and so does a run of letters longer than any particle (trim() removes no letters).
  let letters = 0;
  for (let i = from + 1; i < to - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) {
      if (++letters > MAX_PARTICLE) return false;
      continue;
    }
    letters = 0;
    if (c < 128 && c !== 32 && (c < 9 || c > 13)) return false;
  }
  return particlesOnly(text, from, to);
}

function isAsciiSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** gap.trim().split(' ').every((p) => PARTICLES.has(p)) for gap = text[from, to), one word cut out at a time. */
function particlesOnly(text: string, from: number, to: number): boolean {
  let a = from;
  let b = to;
  for (let i = from; i < to; i++) {
    // trim() also removes non-ASCII spaces: such gaps take the general path.
    if (text.charCodeAt(i) >= 128) return text.slice(from, to).trim().split(' ').every((p) => PARTICLES.has(p));
  }
  while (a < b && isAsciiSpace(text.charCodeAt(a))) a++;
  while (b > a && isAsciiSpace(text.charCodeAt(b - 1))) b--;
  for (let s = a; ; ) {
    let e = s;
    while (e < b && text.charCodeAt(e) !== 32) e++;
    if (!PARTICLES.has(text.slice(s, e))) return false;
    if (e >= b) return true;
    s = e + 1;
  }
}

export function recognizePersons(input: ScanInput, out: Finding[]): void {
  const { text, lower } = input;
  const names = nameTable();
  let group: Tok[] = [];
  const cursor = { k: 0, floor: 0 };
  const m: CapitalisedWord = { start: 0, end: 0, ascii: true };
  while (nextCapitalised(text, input.scan.capitalStarts, cursor, m)) {
    const dotted = text.charCodeAt(m.end - 1) === 46;
    const wordEnd = dotted ? m.end - 1 : m.end;
    // ASCII lower-cases the same in the whole text as in the word alone, so it is looked up in place.
    const key = m.ascii ? undefined : text.slice(m.start, wordEnd).toLowerCase();
    const bits = key === undefined ? names.bitsAt(lower, m.start, wordEnd) : names.bitsOf(key);
    const tok = tokenOf(m.start, dotted && wordEnd - m.start === 1 ? m.end : wordEnd, key?.length ?? wordEnd - m.start, bits);
    // Read only when there is one: group[-1] would take V8's slow generic path.
    const last = group.length > 0 ? group[group.length - 1] : undefined;
    if (last) {
      const joined = joinedByParticles(text, last.end, tok.start);
      const afterTitle = tok.start - last.end === 2 && text.charCodeAt(last.end) === 46 && text.charCodeAt(last.end + 1) === 32 && last.title;
      if (!(joined || afterTitle) || group.length >= 5) {
        scoreGroup(group, input, out);
        group = [];
      }
    }
    group.push(tok);
    if (dotted && wordEnd - m.start > 1 && !tok.title) {
      scoreGroup(group, input, out);
      group = [];
    }
  }
  if (group.length > 0) scoreGroup(group, input, out);
}
