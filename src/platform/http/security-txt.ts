/**
 * /.well-known/security.txt (RFC 9116): where to report a vulnerability in this installation.
 * Its contact is the operator's (SECURITY_CONTACT); without one there is nothing true to say, so
 * the file is absent (404). Expires is always 90 days ahead, as the RFC wants it renewed.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.ts';
import { AppError } from './errors.ts';

const EXPIRES_DAYS = 90;

export function securityTxtRoutes(deps: { contact: string | undefined; publicUrl: string; clock: Clock }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/.well-known/security.txt', { schema: { operationId: 'securityTxt', tags: ['operations'] } }, async (_request, reply) => {
      if (!deps.contact) throw new AppError('not_found', 'No security contact is configured (SECURITY_CONTACT).');
      const expires = new Date(deps.clock.now().getTime() + EXPIRES_DAYS * 86_400_000);
      expires.setUTCMilliseconds(0);
      const body = [
        `Contact: ${deps.contact}`,
        `Expires: ${expires.toISOString().replace('.000Z', 'Z')}`,
        'Preferred-Languages: en',
        // RFC 9116 wants a Canonical URI over https; an http installation leaves it out.
        ...(deps.publicUrl.startsWith('https://') ? [`Canonical: ${deps.publicUrl.replace(/\/+$/, '')}/.well-known/security.txt`] : []),
        '',
      ].join('\n');
      return reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'max-age=86400').send(body);
    });
  };
}
