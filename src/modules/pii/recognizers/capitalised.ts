/**
 * Capitalised words, found by a hand-written scan that matches what the regular expression
 * /\p{Lu}(?<![\p{L}\p{N}_@.]\p{Lu})[\p{L}'’-]{0,30}\.?/gu would: an upper-case letter not glued
 * to a preceding letter, number, "_", "@" or ".", up to 30 more letters, apostrophes or hyphens,
 * and an optional full stop. Text between candidate capitals is skipped by one native search.
 */
import { codePointAt, codePointBefore, isLetter, isLetterOrNumber, isUpper } from '../char-class.ts';

/** A capitalised word; `ascii` tells whether every character of it is ASCII. */
export interface CapitalisedWord { start: number; end: number; ascii: boolean }

const MAX_TAIL = 30;
/**
 * Every code unit that may start an upper-case letter: A-Z, the Latin-1 capitals and anything
 * from U+0100 on (checked properly afterwards). Lower-case text is skipped by the regex engine.
 */
const CANDIDATE_RE = /[A-Z\xC0-\xD6\xD8-\xDE\u0100-\uFFFF]/g;

function gluedBefore(text: string, i: number): boolean {
  if (i === 0) return false;
  const p = codePointBefore(text, i);
  return p === 95 || p === 64 || p === 46 || isLetterOrNumber(p);
}

function isWordTail(cp: number): boolean {
  return cp === 39 || cp === 0x2019 || cp === 45 || isLetter(cp);
}

/** Finds the next capitalised word at or after `from` and writes it into `word`; false if none. */
export function nextCapitalised(text: string, from: number, word: CapitalisedWord): boolean {
  const n = text.length;
  for (let i = from; i < n; ) {
    CANDIDATE_RE.lastIndex = i;
    if (!CANDIDATE_RE.exec(text)) return false;
    i = CANDIDATE_RE.lastIndex - 1;
    const c = text.charCodeAt(i);
    let len = 1;
    if (c >= 128) {
      const cp = codePointAt(text, i);
      len = cp > 0xffff ? 2 : 1;
      if (!isUpper(cp)) {
        i += len;
        continue;
      }
    }
    if (gluedBefore(text, i)) {
      i += len;
      continue;
    }
    let ascii = c < 128;
    let j = i + len;
    for (let k = 0; k < MAX_TAIL && j < n; k++) {
      const u = text.charCodeAt(j);
      // ASCII letters, "'" and "-" without a call; anything else through the class table.
      if (u < 128) {
        if (((u | 32) >= 97 && (u | 32) <= 122) || u === 39 || u === 45) {
          j++;
          continue;
        }
        break;
      }
      const d = codePointAt(text, j);
      if (!isWordTail(d)) break;
      ascii = false;
      j += d > 0xffff ? 2 : 1;
    }
    word.start = i;
    word.end = text.charCodeAt(j) === 46 ? j + 1 : j;
    word.ascii = ascii;
    return true;
  }
  return false;
}
