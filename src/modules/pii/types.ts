import type { EntityType } from './policy.ts';
import type { TextScan } from './text-scan.ts';

/** One detected PII span: [start, end) in UTF-16 code units of the analysed text. */
export interface Finding {
  type: EntityType;
  start: number;
  end: number;
  score: number;
}

/** What a recogniser sees: the text, a lower-cased copy and the shared tokenisation, made once per analysis. */
export interface ScanInput {
  text: string;
  lower: string;
  /** The shared tokenisation: candidate positions found once for every recogniser. */
  scan: TextScan;
  /** Per-call memo and shared budget for phone validation, so no input can run away. */
  phone: PhoneChecks;
  /** The caller's threshold: recognisers may skip costly checks that could not reach it. */
  minScore: number;
}

export type Recognizer = (input: ScanInput, out: Finding[]) => void;

/** Phone validation results memoised per digit string within one call, and the checks left. */
export interface PhoneChecks {
  left: number;
  intl: Map<string, 'valid' | 'possible' | 'invalid'>;
  national: Map<string, boolean>;
}
