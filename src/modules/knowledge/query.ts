/**
 * Search text → the queries retrieval runs, strictest first. The question as written (websearch
 * syntax: all words, "phrases", -exclusions); when that finds nothing, all words but one (so a
 * natural question still finds the passage that holds most of it, before the many that hold one
 * common word); then any of its words. Only letters and digits reach the relaxed queries.
 */
const maxTerms = 8;
// Postgres drops stop words itself; these are dropped here only so they do not use up the
// eight words a relaxed query considers.
const questionWords = new Set(
  'a an and are be by can could did do does for from how i in is it me my of on or our should the this that to was we what when where which who why will with would you your'.split(' '),
);

/**
 * The question as websearch syntax, keeping only exclusions that exclude something: a single "-"
 * or "!" right before a word or "phrase". PostgreSQL's parser stacks the others up and fails past
 * 32 in a row ("tsquery stack too small", a 500 before), whatever sits between them. A run of
 * them ("--force", "!!") is not an exclusion either: "--force" is asked about, not excluded.
 */
export function asWebsearch(q: string): string {
  return q.replace(/[!-]{2,}/g, ' ').replace(/[!-](?![\p{L}\p{N}_"])/gu, ' ');
}

function wordsOf(q: string): string[] {
  return [...new Set(q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].filter((w) => !questionWords.has(w)).slice(0, maxTerms);
}

/** The relaxed queries to try, in order, when the question as written matches nothing. */
export function relaxedQueries(q: string): string[] {
  const words = wordsOf(q);
  if (words.length < 2) return [];
  const queries: string[] = [];
  if (words.length >= 3) queries.push(words.map((_, skip) => words.filter((__, i) => i !== skip).join(' ')).join(' or '));
  queries.push(words.join(' or '));
  return queries;
}
