/** Passport numbers: only an ID-shaped token right after a passport cue counts. */
import type { Finding, ScanInput } from '../types.ts';

const CUES = ['passport', 'reisepass', 'passnummer', 'pass-nr', 'passeport', 'pasaporte', 'passaporto'];
const ID_RE = /(?<![A-Za-z0-9])(?=[A-Z0-9]{6,9}(?![A-Za-z0-9]))(?=[A-Z]{0,3}\d)[A-Z0-9]{6,9}/;

export function recognizePassport({ text, lower }: ScanInput, out: Finding[]): void {
  for (const cue of CUES) {
    for (let i = lower.indexOf(cue); i !== -1; i = lower.indexOf(cue, i + cue.length)) {
      const from = i + cue.length;
      const m = ID_RE.exec(text.slice(from, from + 40));
      if (!m) continue;
      const start = from + m.index;
      out.push({ type: 'PASSPORT', start, end: start + m[0].length, score: 0.9 });
    }
  }
}
