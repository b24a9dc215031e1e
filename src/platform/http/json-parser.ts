/**
 * The JSON body parser: refuses nesting deeper than `maxDepth` before parsing (a linear scan,
 * so a deeply nested body costs no recursion anywhere later), and refuses `__proto__` and
 * `constructor.prototype` keys as Fastify's default parser does, against prototype pollution,
 * and strings holding NUL or an unpaired surrogate (nul-guard.ts). Bad bodies are 400 invalid_request.
 * It is the only body parser: Fastify's own text/plain parser goes, so a body of any other type is
 * 415 unsupported_media_type before a route sees it (not a string its schema then calls invalid).
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from './errors.ts';
import { containsLoneSurrogate, containsNul, nulRefusal, surrogateRefusal } from './nul-guard.ts';

export function jsonDepthExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function hasPollutingKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Object.prototype.hasOwnProperty.call(node, '__proto__')) return true;
    const ctor = (node as Record<string, unknown>).constructor;
    if (Object.prototype.hasOwnProperty.call(node, 'constructor') && ctor !== null && typeof ctor === 'object' && 'prototype' in ctor) return true;
    for (const child of Object.values(node)) if (child !== null && typeof child === 'object') stack.push(child);
  }
  return false;
}

const escapedSurrogate = /\\u[dD][89a-fA-F]/;

export function installJsonParser(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  // SCIM clients send application/scim+json (modules/scim): the same JSON, parsed the same way.
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(new AppError('invalid_request', 'The JSON body is empty.'), undefined);
    if (jsonDepthExceeds(text, maxDepth)) return done(new AppError('invalid_request', `The JSON body is nested deeper than ${maxDepth} levels.`), undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return done(new AppError('invalid_request', 'The body is not valid JSON.'), undefined);
    }
    if (hasPollutingKey(parsed)) return done(new AppError('invalid_request', 'The JSON body contains a forbidden key (__proto__ or constructor.prototype).'), undefined);
    // JSON can carry NUL only escaped, so most bodies skip the walk.
    if (text.includes('\\u0000') && containsNul(parsed)) return done(nulRefusal(), undefined);
    // A body decoded from UTF-8 holds no lone surrogate unless one was escaped ("\\udc00").
    if (escapedSurrogate.test(text) && containsLoneSurrogate(parsed)) return done(surrogateRefusal(), undefined);
    return done(null, parsed);
  });
}
