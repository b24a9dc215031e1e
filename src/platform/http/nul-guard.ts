/**
 * No NUL characters (U+0000) and no unpaired surrogates in what a request carries: PostgreSQL
 * cannot store either, so one that reached a query would fail there (a 500) instead of being
 * refused here as bad input. Bodies are checked by the JSON parser, URLs (NUL) by an onRequest
 * hook; a URL's percent-encoded bytes that are not UTF-8 are decoded to U+FFFD, never to a surrogate.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from './errors.ts';

export const nulRefusal = (): AppError => new AppError('invalid_request', 'Text may not contain the NUL character (U+0000).');
export const surrogateRefusal = (): AppError =>
  new AppError('invalid_request', 'Text may not contain an unpaired UTF-16 surrogate (\\uD800–\\uDFFF without its other half): it is not a character.');

/** True when any string (value or key) in a parsed JSON value satisfies `bad`. */
function anyString(value: unknown, bad: (text: string) => boolean): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (bad(node)) return true;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (bad(key)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when any string (value or key) in a parsed JSON value contains U+0000. */
export const containsNul = (value: unknown): boolean => anyString(value, (text) => text.includes('\u0000'));

/**
 * True when any string holds half of a surrogate pair alone (JSON can write one as "\\ud800"):
 * PostgreSQL refuses such text in jsonb (a 500 instead of a 400) and UTF-8 cannot encode it.
 */
export const containsLoneSurrogate = (value: unknown): boolean => anyString(value, (text) => loneSurrogate.test(text));

export function installNulGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    // %00 anywhere in the path or query string (hex digits are digits: no case to fold).
    if (request.url.includes('%00')) return done(nulRefusal());
    done();
  });
}
