/** HTTP for two-factor sign-in: set up, enable, disable. Signed-in dashboard users only. */
import { z } from 'zod';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { App } from '../../platform/http/types.ts';
import { PASSWORD_MAX } from './passwords.ts';
import type { TotpService } from './totp-service.ts';

const code = z.string().regex(/^\d{6}$/, 'must be the 6-digit code');
const password = z.string().max(PASSWORD_MAX);

export function totpRoutes(deps: { totp: TotpService; auth: Authenticator }) {
  const { totp, auth } = deps;

  return async function plugin(app: App): Promise<void> {
    app.post('/v1/auth/totp/setup', {
      schema: {
        operationId: 'setupTotp',
        tags: ['accounts'],
        description: 'After the current password: a new pending TOTP secret, shown this once; enable it with a code from the authenticator app.',
        body: z.strictObject({ password }),
        response: { 200: z.object({ secret: z.string(), otpauthUri: z.string() }) },
      },
      handler: async (request, reply) => {
        const result = await totp.setup({ principal: await auth.requireUser(request), ip: request.ip }, request.body.password);
        return reply.header('Cache-Control', 'no-store').send(result);
      },
    });

    app.post('/v1/auth/totp/enable', {
      schema: { operationId: 'enableTotp', tags: ['accounts'], body: z.strictObject({ code }) },
      handler: async (request, reply) => {
        await totp.enable({ principal: await auth.requireUser(request), ip: request.ip }, request.body.code);
        return reply.code(204).send();
      },
    });

    app.post('/v1/auth/totp/disable', {
      schema: { operationId: 'disableTotp', tags: ['accounts'], body: z.strictObject({ password, code }) },
      handler: async (request, reply) => {
        await totp.disable({ principal: await auth.requireUser(request), ip: request.ip }, request.body.password, request.body.code);
        return reply.code(204).send();
      },
    });
  };
}
