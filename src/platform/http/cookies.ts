/**
 * Request cookies, parsed on first use. @fastify/cookie is registered without its parsing hook:
 * a Bearer-authenticated request, or one to /healthz, never pays for parsing a Cookie header
 * it does not read. Setting cookies (reply.setCookie) works as usual.
 */
import type { FastifyRequest } from 'fastify';

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  if (!request.cookies) {
    const header = request.headers.cookie;
    request.cookies = header ? request.server.parseCookie(header) : {};
  }
  return request.cookies[name];
}
