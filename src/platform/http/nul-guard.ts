/**
 * No NUL characters (U+0000) in what a request carries: PostgreSQL's text type cannot store them,
 * so a NUL that reached a query would fail there (a 500) instead of being refused here as bad
 * input. Bodies are checked by the JSON parser (containsNul), URLs by an onRequest hook.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from './errors.ts';

export const nulRefusal = (): AppError => new AppError('invalid_request', 'Text may not contain the NUL character (U+0000).');

/** True when any string (value or key) in a parsed JSON value contains U+0000. */
export function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return true;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key.includes('\u0000')) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

export function installNulGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    // %00 anywhere in the path or query string (hex digits are digits: no case to fold).
    if (request.url.includes('%00')) return done(nulRefusal());
    done();
  });
}
