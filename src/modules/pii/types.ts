import type { EntityType } from './policy.ts';

/** One detected PII span: [start, end) in UTF-16 code units of the analysed text. */
export interface Finding {
  type: EntityType;
  start: number;
  end: number;
  score: number;
}

/** What a recogniser sees: the text and a lower-cased copy made once per analysis. */
export interface ScanInput {
  text: string;
  lower: string;
  /** Shared budget for expensive validation (phone metadata look-ups), so no input can run away. */
  budget: { phoneChecks: number };
  /** The caller's threshold: recognisers may skip costly checks that could not reach it. */
  minScore: number;
}

export type Recognizer = (input: ScanInput, out: Finding[]) => void;
