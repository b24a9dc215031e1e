/**
 * Search text → the queries retrieval runs. The question as written (websearch syntax: all
 * words, "phrases", -exclusions), then, when that finds nothing, any of its words, so natural
 * questions still match passages that hold only some of them.
 */
const maxTerms = 32;

/** The question's words joined with `or` (websearch syntax); only letters and digits pass. */
export function anyOfTerms(q: string): string | null {
  const words = [...new Set((q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w !== 'or'))].slice(0, maxTerms);
  return words.length > 1 ? words.join(' or ') : null;
}
