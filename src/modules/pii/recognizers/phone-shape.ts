/**
 * Format plausibility of a number written without a country code: how its digits are grouped.
 * Rules out shapes that are common for other numbers (post codes, house and suite numbers,
 * date-times) and rare for phone numbers, before any metadata look-up.
 */
import type { NumberRun } from '../number-runs.ts';

/** "2000-04-16 11" (an ISO date-time cut at the colon) or "16.04.2000 11". */
function startsWithDate(run: NumberRun): boolean {
  const [a = 0, b = 0, c = 0] = run.groups;
  const s = run.seps.slice(0, 2);
  if (run.groups.length < 3 || s.length < 2 || s[0] !== s[1] || !'-./'.includes(s[0] ?? ' ')) return false;
  return (a === 4 && b <= 2 && c <= 2) || (a <= 2 && b <= 2 && c === 4);
}

export function phoneShapeOk(run: NumberRun, raw: string): boolean {
  // Separators other than space, dash, dot and a parenthesised area code are not phone style.
  if (run.seps.includes('/') && !raw.includes('(')) return false;
  if (startsWithDate(run)) return false;
  const g = run.groups;
  const trunk = run.digits.startsWith('0') || raw.startsWith('(');
  if (g.length === 2 && !trunk) {
    const [first = 0, second = 0] = g;
    // "17031 2202", "9816 214", "75534-030", "43 73313": house numbers and post codes, not phones.
    if (first > 4 || second < 4 || second === 5) return false;
  }
  return true;
}
