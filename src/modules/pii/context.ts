/**
 * Context scoring in the manner of Presidio: words near a match raise (or, for hard negatives,
 * lower) its score. Windows are bounded so the cost stays linear in the number of matches.
 */

const WORD_RE = /[\p{L}\p{N}]+/gu;

/** Lower-cased words in a window before (and optionally after) a span. */
export function wordsAround(lower: string, start: number, end: number, before = 48, after = 16): string[] {
  const from = Math.max(0, start - before);
  const to = Math.min(lower.length, end + after);
  const left = lower.slice(from, start);
  const right = lower.slice(end, to);
  return [...(left.match(WORD_RE) ?? []), ...(right.match(WORD_RE) ?? [])];
}

export function hasAnyWord(words: readonly string[], set: ReadonlySet<string>): boolean {
  for (const w of words) if (set.has(w)) return true;
  return false;
}

/** True when one of the phrases (lower-case, may contain spaces) occurs in the window. */
export function windowHas(lower: string, start: number, end: number, phrases: readonly string[], before = 48, after = 0): boolean {
  const win = lower.slice(Math.max(0, start - before), Math.min(lower.length, end + after));
  for (const p of phrases) if (win.includes(p)) return true;
  return false;
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Words that mark a number as a business identifier rather than personal data. */
export const NEGATIVE_NUMBER_WORDS: ReadonlySet<string> = new Set([
  'order', 'orders', 'invoice', 'tracking', 'track', 'ref', 'reference', 'ticket', 'case', 'sku',
  'version', 'build', 'release', 'serial', 'shipment', 'parcel', 'item', 'article', 'receipt',
  'booking', 'confirmation', 'po',
  'bestellung', 'bestellnummer', 'rechnung', 'rechnungsnummer', 'sendung', 'sendungsnummer', 'auftrag',
  'commande', 'facture', 'colis', 'suivi', 'référence', 'pedido', 'factura', 'envío', 'seguimiento',
  'referencia', 'usd', 'eur', 'gbp', 'price', 'total', 'preis', 'prix', 'precio', 'qty', 'quantity',
  'license', 'licence', 'driver', 'zip', 'postcode', 'postal', 'plz', 'führerschein', 'permis', 'licencia',
]);
