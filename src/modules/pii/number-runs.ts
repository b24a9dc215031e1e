/**
 * A linear scanner for number-like runs ("+49 (0)30 1234-567", "4111 1111 1111 1111",
 * "849-66-3189", "10.0.0.1"). Hand-written rather than a regex so no input can backtrack.
 * It jumps between the digit runs of the shared TextScan instead of walking every character; the
 * positions it stops at are exactly those a character-by-character walk would reach (it never
 * stands inside a word, so a digit glued to a word is skipped with it).
 */

export interface NumberRun {
  start: number;
  end: number;
  /** Only the digits of the run. */
  digits: string;
  /** The separators used between digit groups, e.g. "  " or "--". */
  seps: string;
  /** Lengths of the digit groups. */
  groups: number[];
  plus: boolean;
}

const MAX_RUN = 48;
const EXT_RE = /^ ?(?:x|ext\.?|extension) ?\d{1,5}(?![\w])/i;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordChar(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
}

/** Space, "-", ".", "/", "(", ")" or a no-break space. */
function isSep(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 47 || c === 40 || c === 41 || c === 0xa0;
}

/**
 * Starts and lengths of the digit groups of the run being scanned, shared by all calls: most runs
 * are scanned past without being returned, so their groups need no arrays of their own. A run
 * holds at most MAX_RUN characters, so at most MAX_RUN / 2 + 1 groups.
 */
const GROUP_STARTS = new Int32Array(MAX_RUN);
const GROUP_LENGTHS = new Int32Array(MAX_RUN);

/** The digits of the first `count` groups in GROUP_STARTS / GROUP_LENGTHS, joined. */
function digitsOf(text: string, count: number): string {
  let digits = '';
  for (let k = 0; k < count; k++) {
    const g = GROUP_STARTS[k] ?? 0;
    digits += text.slice(g, g + (GROUP_LENGTHS[k] ?? 0));
  }
  return digits;
}

/** The first `count` group lengths as an array of the run's own. */
function groupLengths(count: number): number[] {
  const groups: number[] = [];
  for (let k = 0; k < count; k++) groups.push(GROUP_LENGTHS[k] ?? 0);
  return groups;
}

/** EXT_RE's first letter, "x" or "e" (after at most one space), is at `end`: only then is it run. */
function mayOpenExtension(text: string, end: number): boolean {
  const at = text.charCodeAt(end) === 32 ? end + 1 : end;
  // Not read past the end: that would make V8 reoptimise the reads slower (and no extension fits).
  if (at >= text.length) return false;
  const c = text.charCodeAt(at) | 32;
  return c === 120 || c === 101;
}

function skipWord(text: string, i: number): number {
  while (i < text.length && isWordChar(text.charCodeAt(i))) i++;
  return i;
}

/**
 * The next position at or after i that the character walk would examine as a possible start:
 * a digit, or a "+" or "(" right before one (any other "+" or "(" starts nothing and is passed
 * by the walk). Reads TextScan's digit runs from `cursor.k` on, so each call's i must be at least
 * the previous call's answer (as the scanner's are).
 */
export function nextCandidate(text: string, i: number, runs: readonly number[], cursor: { k: number }): number {
  for (;;) {
    while (cursor.k < runs.length && (runs[cursor.k + 1] ?? 0) <= i) cursor.k += 2;
    if (cursor.k >= runs.length) return text.length;
    const s = runs[cursor.k] ?? 0;
    if (s <= i) return i;
    const opener = text.charCodeAt(s - 1);
    if (s - 1 >= i && (opener === 43 || opener === 40)) return s - 1;
    // A digit inside a word that starts after i: the walk skips the whole word.
    if (isWordChar(opener)) {
      i = skipWord(text, s);
      continue;
    }
    return s;
  }
}

/** Number runs with at least `minDigits` digits (shorter ones are scanned past but not returned). */
export function scanNumberRuns(text: string, digitRuns: readonly number[], minDigits = 0): NumberRun[] {
  const runs: NumberRun[] = [];
  const n = text.length;
  const cursor = { k: 0 };
  let i = nextCandidate(text, 0, digitRuns, cursor);
  while (i < n) {
    const c = text.charCodeAt(i);
    const startsHere = isDigit(c) || ((c === 43 || c === 40) && i + 1 < n && isDigit(text.charCodeAt(i + 1)));
    if (!startsHere || (i > 0 && isWordChar(text.charCodeAt(i - 1)) && !(c === 43 || c === 40))) {
      // Skip the rest of an alphanumeric word so "abc123" or "v1.2" is not a number run.
      i = nextCandidate(text, isWordChar(c) ? skipWord(text, i) : i + 1, digitRuns, cursor);
      continue;
    }
    const start = i;
    // "a456-426614174000" or "AB-1234567": a digit group glued by a hyphen to a word is an identifier.
    const before = i > 1 ? text.charCodeAt(i - 1) : 32;
    if ((before === 45 || before === 95 || before === 47) && isWordChar(text.charCodeAt(i - 2))) {
      while (i < n && (isWordChar(text.charCodeAt(i)) || text.charCodeAt(i) === 45)) i++;
      if (i === start) i++; // a "+" or "(" after the glue: always move on
      i = nextCandidate(text, i, digitRuns, cursor);
      continue;
    }
    let seps = '';
    // Groups go to GROUP_STARTS / GROUP_LENGTHS: the digit string is only cut out for runs that are returned.
    let groupCount = 0;
    let digitCount = 0;
    let groupStart = -1;
    const plus = c === 43;
    if (c === 43 || c === 40) i++;
    let end = i;
    while (i < n && i - start < MAX_RUN) {
      if (isDigit(text.charCodeAt(i))) {
        if (groupStart < 0) groupStart = i;
        i++;
        end = i;
        continue;
      }
      // Up to two separator characters ("- ", ") ") may join digit groups.
      let j = i;
      while (j < n && j - i < 3 && isSep(text.charCodeAt(j))) j++;
      // What the separator adds to `seps` when it joins two groups (trimmed, or " " if only spaces).
      let piece: string | undefined;
      if (j - i === 1) {
        // The common single character, read by code: no string to cut out and trim.
        const sc = text.charCodeAt(i);
        if (j < n && isDigit(text.charCodeAt(j))) piece = sc === 32 || sc === 0xa0 ? ' ' : (text[i] ?? '');
        else if (sc === 41) end = i + 1;
      } else if (j > i) {
        const sep = text.slice(i, j);
        const trimmed = sep.trim();
        if (j < n && isDigit(text.charCodeAt(j)) && !sep.includes('..')) piece = trimmed === '' ? ' ' : trimmed;
        else if (trimmed === ')') end = i + 1;
      }
      if (piece === undefined) break;
      if (groupStart >= 0) {
        GROUP_LENGTHS[groupCount] = i - groupStart;
        GROUP_STARTS[groupCount++] = groupStart;
        digitCount += i - groupStart;
      }
      groupStart = -1;
      seps += piece;
      i = j;
    }
    if (groupStart >= 0) {
      GROUP_LENGTHS[groupCount] = i - groupStart;
      GROUP_STARTS[groupCount++] = groupStart;
      digitCount += i - groupStart;
    }
    if (digitCount >= 7 && end < n && mayOpenExtension(text, end)) {
      const ext = EXT_RE.exec(text.slice(end, end + 16));
      if (ext) end += ext[0].length;
    }
    // A run glued to letters ("123abc") is an identifier, not a number.
    const next = end < n ? text.charCodeAt(end) : 32;
    if (i - start >= MAX_RUN) {
      while (i < n && (isDigit(text.charCodeAt(i)) || isSep(text.charCodeAt(i)))) i++;
    } else if ((!isWordChar(next) || next > 127) && digitCount >= minDigits) {
      runs.push({ start, end, digits: digitsOf(text, groupCount), seps, groups: groupLengths(groupCount), plus });
    }
    i = Math.max(i, end);
    i = nextCandidate(text, skipWord(text, i), digitRuns, cursor);
  }
  return runs;
}

/** Where each digit group of a run starts and ends in the text, flattened: [s0, e0, s1, e1, …]. */
export function groupSpans(text: string, run: NumberRun): number[] {
  const spans: number[] = [];
  let i = run.start;
  // An extension ("x 12") may follow the groups inside the run: its digits are no group.
  while (i < run.end && spans.length < run.groups.length * 2) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const s = i;
    while (i < run.end && isDigit(text.charCodeAt(i))) i++;
    spans.push(s, i);
  }
  return spans;
}

/**
 * Groups [from, to) of a run as a run of their own: a leading "+" or "(" stays with the first
 * group, an extension or closing ")" with the last; separators as the scanner records them.
 */
export function partOfRun(text: string, run: NumberRun, spans: readonly number[], from: number, to: number): NumberRun {
  let digits = '';
  let seps = '';
  const groups: number[] = [];
  for (let k = from; k < to; k++) {
    const s = spans[2 * k] ?? 0;
    const e = spans[2 * k + 1] ?? 0;
    digits += text.slice(s, e);
    groups.push(e - s);
    if (k > from) {
      const trimmed = text.slice(spans[2 * k - 1] ?? 0, s).trim();
      seps += trimmed === '' ? ' ' : trimmed;
    }
  }
  const start = from === 0 ? run.start : (spans[2 * from] ?? 0);
  const end = to === run.groups.length ? run.end : (spans[2 * to - 1] ?? 0);
  return { start, end, digits, seps, groups, plus: from === 0 && run.plus };
}
