/**
 * While the server shuts down, requests still arriving on open keep-alive connections are refused
 * with 503 `unavailable` as problem+json, carrying the security headers of every other reply, and
 * the connection is closed. Fastify's own refusal (return503OnClosing) writes a bare JSON body
 * before any hook runs, so it is switched off in app.ts and this hook answers instead.
 */
import type { FastifyInstance } from 'fastify';
import { sendProblem } from './error-handler.ts';

export function installClosingRefusal(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    sendProblem(reply, 'unavailable', 'The server is shutting down: retry the request.', { headers: { connection: 'close', 'retry-after': '1' } });
  });
}
