/**
 * The shared tokenisation of one analyze() call: where the ASCII digit runs and the capitalised
 * words start, found once so recognisers read these lists instead of each searching the whole
 * text for their own candidates. Nothing here outlives the call.
 */
import { codePointAt, codePointBefore, isLetterOrNumber, isUpper } from './char-class.ts';

export interface TextScan {
  /** Maximal runs of ASCII digits, flattened: run k is [digitRuns[2k], digitRuns[2k + 1]). */
  digitRuns: number[];
  /**
   * Where a capitalised word starts: an upper-case letter not glued to a preceding letter,
   * number, "_", "@" or "." (recognizers/capitalised.ts completes the word).
   */
  capitalStarts: number[];
}

/**
 * Digit runs, and runs of ASCII capitals or non-ASCII code units (where every other capital is):
 * the regex engine skips the lower-case text between them much faster than a loop per character.
 */
const JUMP_RE = /[0-9]+|[A-Z\u00C0-\uFFFF]+/g;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isJumpLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || c >= 0xc0;
}

function gluedBefore(text: string, i: number): boolean {
  if (i === 0) return false;
  const p = codePointBefore(text, i);
  return p === 95 || p === 64 || p === 46 || isLetterOrNumber(p);
}

/** Capital starts inside text[s, e), a run of ASCII capitals and non-ASCII code units. */
function capitalsIn(text: string, s: number, e: number, into: number[]): void {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      // After another ASCII capital it is glued; otherwise the character before decides.
      const p = i > s ? text.charCodeAt(i - 1) : 0;
      if (!(p >= 65 && p <= 90) && !gluedBefore(text, i)) into.push(i);
      continue;
    }
    const cp = codePointAt(text, i);
    if (isUpper(cp) && !gluedBefore(text, i)) into.push(i);
    if (cp > 0xffff) i++;
  }
}

export function scanText(text: string): TextScan {
  const digitRuns: number[] = [];
  const capitalStarts: number[] = [];
  JUMP_RE.lastIndex = 0;
  while (JUMP_RE.test(text)) {
    const e = JUMP_RE.lastIndex;
    // test() gives only the end: the run is walked back to its start (the matches do not touch it).
    let s = e - 1;
    if (isDigit(text.charCodeAt(s))) {
      while (s > 0 && isDigit(text.charCodeAt(s - 1))) s--;
      digitRuns.push(s, e);
    } else {
      while (s > 0 && isJumpLetter(text.charCodeAt(s - 1))) s--;
      capitalsIn(text, s, e, capitalStarts);
    }
  }
  return { digitRuns, capitalStarts };
}
