/** US Social Security numbers: AAA-GG-SSSS with the SSA's never-issued ranges excluded. */
import type { NumberRun } from '../number-runs.ts';

export function ssnValid(d: string): boolean {
  if (d.length !== 9) return false;
  const area = d.slice(0, 3);
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (d.slice(3, 5) === '00' || d.slice(5) === '0000') return false;
  return !/^(\d)\1+$/.test(d) && d !== '123456789';
}

/** Base score before context; a bare nine-digit run only counts with context. */
export function ssnScore(run: NumberRun): number {
  if (run.plus || !ssnValid(run.digits)) return 0;
  const g = run.groups;
  if (g.length === 3 && g[0] === 3 && g[1] === 2 && g[2] === 4 && (run.seps === '--' || run.seps === '  ')) return 0.6;
  if (g.length === 1 && g[0] === 9) return 0.2;
  return 0;
}

export const SSN_CONTEXT: ReadonlySet<string> = new Set([
  'ssn', 'social', 'security', 'ssa', 'ssns', 'taxpayer', 'tin', 'itin',
]);
