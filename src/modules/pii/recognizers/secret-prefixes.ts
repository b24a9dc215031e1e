/**
 * Where the vendor key formats of secret.ts may start: every position at which one of their fixed
 * openings occurs, as a global search of KNOWN_PREFIX_RE resuming one character on would list
 * them. That search tries its many alternatives at almost every letter of ordinary text; these
 * openings are found instead from rarer anchors — the upper-case ones and "eyJ" by literal
 * searches, the rest from the "_" or "-" each of them holds at a fixed offset.
 */

const KNOWN_PREFIX = 'AKIA|ASIA|gh[pousr]_|github_pat_|sk-|xox[abposr]-|glpat-|AIza|[sr]k_|SG\\.|npm_|hf_|eyJ';
/** The definition, for the tests. */
export const KNOWN_PREFIX_RE = new RegExp(KNOWN_PREFIX, 'g');
const PREFIX_AT_RE = new RegExp(KNOWN_PREFIX, 'y');
const UPPER_OPENING_RE = /AKIA|ASIA|AIza|SG\./g;
/**
 * How far before its "_" or its "-" each other opening starts, and the letters it can start with
 * ("sk_", "rk_", "hf_"; "gh?_", "npm_"; "github_pat_" — "sk-"; "xox?-"; "glpat-").
 */
const BEFORE_UNDERSCORE: readonly (readonly [number, string])[] = [[2, 'srh'], [3, 'gn'], [6, 'g']];
const BEFORE_DASH: readonly (readonly [number, string])[] = [[2, 's'], [4, 'x'], [5, 'g']];

/** Whether the code unit at p is one of `firsts`, compared by code so no one-character string is made. */
function oneOf(text: string, p: number, firsts: string): boolean {
  const c = text.charCodeAt(p);
  for (let i = 0; i < firsts.length; i++) if (firsts.charCodeAt(i) === c) return true;
  return false;
}

function addBefore(text: string, sep: string, offsets: readonly (readonly [number, string])[], into: number[]): void {
  for (let q = text.indexOf(sep); q !== -1; q = text.indexOf(sep, q + 1)) {
    for (const [k, firsts] of offsets) {
      const p = q - k;
      // The first letter is checked before the pattern runs: most "-" and "_" open nothing.
      if (p < 0 || !oneOf(text, p, firsts)) continue;
      PREFIX_AT_RE.lastIndex = p;
      if (PREFIX_AT_RE.test(text)) into.push(p);
    }
  }
}

/** Sorted, distinct start positions of the openings. */
export function knownPrefixPositions(text: string): number[] {
  const out: number[] = [];
  UPPER_OPENING_RE.lastIndex = 0;
  while (UPPER_OPENING_RE.test(text)) {
    const end = UPPER_OPENING_RE.lastIndex;
    const p = end - (text.charCodeAt(end - 1) === 46 ? 3 : 4);
    out.push(p);
    // Openings may overlap ("ASIAKIA"): the next search starts one character on.
    UPPER_OPENING_RE.lastIndex = p + 1;
  }
  // "eyJ" from its rare "J": a search for "eyJ" itself would stop at every "e" of the text.
  for (let j = text.indexOf('J', 2); j !== -1; j = text.indexOf('J', j + 1)) {
    if (text.charCodeAt(j - 1) === 121 && text.charCodeAt(j - 2) === 101) out.push(j - 2);
  }
  addBefore(text, '_', BEFORE_UNDERSCORE, out);
  addBefore(text, '-', BEFORE_DASH, out);
  if (out.length < 2) return out;
  out.sort((a, b) => a - b);
  let w = 1;
  for (let r = 1; r < out.length; r++) if (out[r] !== out[w - 1]) out[w++] = out[r] ?? 0;
  out.length = w;
  return out;
}
