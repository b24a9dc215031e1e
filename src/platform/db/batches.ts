/**
 * Long lists of ids cut into parts a statement can bind: PostgreSQL's wire protocol allows at most
 * 65,535 parameters in one statement, and a project's visitors or a verified visitor's
 * conversations can number more. Each part is one statement; callers keep them in one transaction.
 */
export const PARAMETERS_PER_STATEMENT = 10_000;

export function batches<T>(items: readonly T[], size = PARAMETERS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
