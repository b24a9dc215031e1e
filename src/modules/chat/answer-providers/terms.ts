/**
 * Words that carry meaning, for the extractive answerer: lower case, English stop words
 * dropped (with the words that shape a question, such as "how long does it take"), a light suffix stemmer so "refunds" meets "refund". Pure and fast.
 */
const stopWords = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by can
  could did do does doing down during each few for from further had has have having he her here hers him his how i if in into is
  it its itself just me more most my no nor not now of off on once only or other our ours out over own same she should so some
  such than that the their theirs them then there these they this those through to too under until up very was we were what
  when where which while who whom why will with would you your yours yourself please tell know want need get got use using
  used also may might must shall let lets im ive id dont doesnt cant wont isnt arent long much many often soon way ways
  take takes make makes thing things something anything there kind sort`.split(/\s+/),
);

const suffixes = [['ies', 'y'], ['ing', ''], ['ed', ''], ['ly', ''], ['s', '']] as const;

export function stem(word: string): string {
  if (word.length <= 3) return word;
  let base = word;
  for (const [suffix, keep] of suffixes) {
    if (word.endsWith(suffix) && !word.endsWith('ss') && word.length - suffix.length >= 3) {
      base = word.slice(0, word.length - suffix.length) + keep;
      // "resetting" → "reset", but "stalled" stays "stall" (as Porter's stemmer does).
      if (keep === '' && suffix !== 's' && /([^aeioulsz])\1$/.test(base)) base = base.slice(0, -1);
      break;
    }
  }
  // "change", "changes", "changed", "changing" all become "chang".
  return base.length > 3 && base.endsWith('e') ? base.slice(0, -1) : base;
}

/** Distinct meaningful stems of a text. */
export function termsOf(text: string): Set<string> {
  const terms = new Set<string>();
  for (const raw of text.toLowerCase().replace(/['’]/g, '').match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (raw.length < 2 || stopWords.has(raw)) continue;
    terms.add(stem(raw));
  }
  return terms;
}
