/** Passport numbers: only an ID-shaped token right after a passport cue counts. */
import type { Finding, ScanInput } from '../types.ts';

const CUES = ['passport', 'reisepass', 'passnummer', 'pass-nr', 'passeport', 'pasaporte', 'passaporto'];
const ID_RE = /(?<![A-Za-z0-9])(?=[A-Z0-9]{6,9}(?![A-Za-z0-9]))(?=[A-Z]{0,3}\d)[A-Z0-9]{6,9}/;

/** Every cue in one search; cues that overlap ("reisepassnummer") are all found, since each search resumes one character on. */
const CUE_RE = new RegExp(CUES.join('|'), 'g');

export function recognizePassport({ text, lower }: ScanInput, out: Finding[]): void {
  CUE_RE.lastIndex = 0;
  for (let c = CUE_RE.exec(lower); c; c = CUE_RE.exec(lower)) {
    CUE_RE.lastIndex = c.index + 1;
    const from = c.index + c[0].length;
    const m = ID_RE.exec(text.slice(from, from + 40));
    if (!m) continue;
    const start = from + m.index;
    out.push({ type: 'PASSPORT', start, end: start + m[0].length, score: 0.9 });
  }
}
