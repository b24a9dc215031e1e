/** Passport numbers: only an ID-shaped token right after a passport cue counts. */
import type { Finding, ScanInput } from '../types.ts';

const CUES = ['passport', 'reisepass', 'passnummer', 'pass-nr', 'passeport', 'pasaporte', 'passaporto'];
const ID_RE = /(?<![A-Za-z0-9])(?=[A-Z0-9]{6,9}(?![A-Za-z0-9]))(?=[A-Z]{0,3}\d)[A-Z0-9]{6,9}/;

/** Sticky: tried only where a cue can start. */
const CUE_AT_RE = new RegExp(CUES.join('|'), 'y');

function cueAt(lower: string, p: number): boolean {
  CUE_AT_RE.lastIndex = p;
  return CUE_AT_RE.test(lower);
}

/**
 * Sorted, distinct starts of the cues, as a global search resuming one character on would list
 * them (overlapping cues such as "reisepassnummer" all count), found from the "pas" every cue
 * holds: a search for the rarer "pas" is quicker than one for all the cues.
 */
function cueStarts(lower: string): number[] {
  const starts: number[] = [];
  for (let q = lower.indexOf('pas'); q !== -1; q = lower.indexOf('pas', q + 1)) {
    if (cueAt(lower, q)) starts.push(q);
    // "reisepass" holds its "pas" five characters in.
    if (q >= 5 && lower.charCodeAt(q - 5) === 114 && cueAt(lower, q - 5)) starts.push(q - 5);
  }
  if (starts.length < 2) return starts;
  starts.sort((x, y) => x - y);
  return starts.filter((p, i) => i === 0 || p !== starts[i - 1]);
}

export function recognizePassport({ text, lower }: ScanInput, out: Finding[]): void {
  for (const at of cueStarts(lower)) {
    CUE_AT_RE.lastIndex = at;
    const c = CUE_AT_RE.exec(lower);
    if (!c) continue;
    const from = at + c[0].length;
    const m = ID_RE.exec(text.slice(from, from + 40));
    if (!m) continue;
    const start = from + m.index;
    out.push({ type: 'PASSPORT', start, end: start + m[0].length, score: 0.9 });
  }
}
