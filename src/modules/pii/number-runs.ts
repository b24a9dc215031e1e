/**
 * A linear scanner for number-like runs ("+49 (0)30 1234-567", "4111 1111 1111 1111",
 * "849-66-3189", "10.0.0.1"). Hand-written rather than a regex so no input can backtrack.
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

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordChar(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
}

const EXT_RE = /^ ?(?:x|ext\.?|extension) ?\d{1,5}(?![\w])/i;

const SEP = new Set([' ', '-', '.', '/', '(', ')', '\u00a0']);

export function scanNumberRuns(text: string): NumberRun[] {
  const runs: NumberRun[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const startsHere = isDigit(c) || ((c === 43 || c === 40) && i + 1 < n && isDigit(text.charCodeAt(i + 1)));
    if (!startsHere || (i > 0 && isWordChar(text.charCodeAt(i - 1)) && !(c === 43 || c === 40))) {
      // Skip the rest of an alphanumeric word so "abc123" or "v1.2" is not a number run.
      if (isWordChar(c)) {
        while (i < n && isWordChar(text.charCodeAt(i))) i++;
      } else i++;
      continue;
    }
    const start = i;
    // "a456-426614174000" or "AB-1234567": a digit group glued by a hyphen to a word is an identifier.
    if (i > 1 && '-_/'.includes(text[i - 1] ?? ' ') && isWordChar(text.charCodeAt(i - 2))) {
      while (i < n && (isWordChar(text.charCodeAt(i)) || '-_'.includes(text[i] ?? ' '))) i++;
      if (i === start) i++; // a "+" or "(" after the glue: always move on
      continue;
    }
    let digits = '';
    let seps = '';
    const groups: number[] = [];
    let group = 0;
    const plus = c === 43;
    if (c === 43 || c === 40) i++;
    let end = i;
    while (i < n && i - start < MAX_RUN) {
      const ch = text.charCodeAt(i);
      if (isDigit(ch)) {
        digits += text[i];
        group++;
        i++;
        end = i;
        continue;
      }
      // Up to two separator characters ("- ", ") ") may join digit groups.
      let j = i;
      let sep = '';
      while (j < n && j - i < 3 && SEP.has(text[j] ?? '')) sep += text[j++];
      if (sep.length > 0 && j < n && isDigit(text.charCodeAt(j)) && !sep.includes('..')) {
        if (group > 0) groups.push(group);
        group = 0;
        seps += sep.trim() === '' ? ' ' : sep.trim();
        i = j;
        continue;
      }
      if (sep === ')' || (sep.length > 0 && sep.trim() === ')')) end = i + 1;
      break;
    }
    if (group > 0) groups.push(group);
    const ext = EXT_RE.exec(text.slice(end, end + 16));
    if (ext && digits.length >= 7) end += ext[0].length;
    // A run glued to letters ("123abc") is an identifier, not a number.
    const next = end < n ? text.charCodeAt(end) : 32;
    if (i - start >= MAX_RUN) {
      while (i < n && (isDigit(text.charCodeAt(i)) || SEP.has(text[i] ?? ''))) i++;
    } else if (!isWordChar(next) || next > 127) {
      runs.push({ start, end, digits, seps, groups, plus });
    }
    i = Math.max(i, end);
    while (i < n && isWordChar(text.charCodeAt(i))) i++;
  }
  return runs;
}
