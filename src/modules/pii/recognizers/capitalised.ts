/**
 * Capitalised words, as the regular expression
 * /\p{Lu}(?<![\p{L}\p{N}_@.]\p{Lu})[\p{L}'’-]{0,30}\.?/gu would find them: an upper-case letter
 * not glued to a preceding letter, number, "_", "@" or ".", up to 30 more letters, apostrophes
 * or hyphens, and an optional full stop. The capitals come from the shared TextScan; this file
 * completes each word and drops capitals that fall inside the previous word.
 */
import { codePointAt, isLetter } from '../char-class.ts';

/** A capitalised word; `ascii` tells whether every character of it is ASCII. */
export interface CapitalisedWord { start: number; end: number; ascii: boolean }

const MAX_TAIL = 30;

function isWordTail(cp: number): boolean {
  return cp === 39 || cp === 0x2019 || cp === 45 || isLetter(cp);
}

/** Completes the capitalised word whose capital starts at i and writes it into `word`. */
export function capitalisedAt(text: string, i: number, word: CapitalisedWord): void {
  const n = text.length;
  let ascii = text.charCodeAt(i) < 128;
  let j = i + (codePointAt(text, i) > 0xffff ? 2 : 1);
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
  // Bounds checked before reading: one read past the end makes V8 reoptimise every read of the function slower.
  word.end = j < n && text.charCodeAt(j) === 46 ? j + 1 : j;
  word.ascii = ascii;
}

/** Where a walk over TextScan.capitalStarts stands: the next start to look at and the end of the last word. */
export interface CapitalCursor { k: number; floor: number }

/**
 * Writes the next capitalised word into `word` and returns true, or returns false when there is
 * none; capitals inside the previous word are passed over.
 */
export function nextCapitalised(text: string, capitalStarts: readonly number[], cursor: CapitalCursor, word: CapitalisedWord): boolean {
  while (cursor.k < capitalStarts.length) {
    const s = capitalStarts[cursor.k++] ?? 0;
    if (s < cursor.floor) continue;
    capitalisedAt(text, s, word);
    cursor.floor = word.end;
    return true;
  }
  return false;
}
