/**
 * HTTP for two-factor sign-in: set up, enable, disable, new recovery codes. Signed-in dashboard
 * users only. Replies that carry a secret or recovery codes are never cached.
 */
import { z } from 'zod';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { App } from '../../platform/http/types.ts';
import { PASSWORD_MAX } from './passwords.ts';
import { isSecondFactorCode } from './recovery-codes.ts';
import type { TotpService } from './totp-service.ts';

const code = z.string().regex(/^\d{6}$/, 'must be the 6-digit code');
/** Where a TOTP code proves the second factor, an unused recovery code may stand in (case, spaces and hyphens aside). */
export const secondFactorCode = z.string().max(64).refine(isSecondFactorCode, 'must be the 6-digit code or a recovery code');
const password = z.string().max(PASSWORD_MAX);
const recoveryCodes = z.object({ recoveryCodes: z.array(z.string()) });

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
      schema: {
        operationId: 'enableTotp',
        tags: ['accounts'],
        description: 'Turns the pending secret on with a code from the authenticator app; returns ten single-use recovery codes, shown this once.',
        body: z.strictObject({ code }),
        response: { 200: recoveryCodes },
      },
      handler: async (request, reply) => {
        const codes = await totp.enable({ principal: await auth.requireUser(request), ip: request.ip }, request.body.code);
        return reply.header('Cache-Control', 'no-store').send({ recoveryCodes: codes });
      },
    });

    app.post('/v1/auth/totp/disable', {
      schema: { operationId: 'disableTotp', tags: ['accounts'], body: z.strictObject({ password, code: secondFactorCode }) },
      handler: async (request, reply) => {
        await totp.disable({ principal: await auth.requireUser(request), ip: request.ip }, request.body.password, request.body.code);
        return reply.code(204).send();
      },
    });

    app.post('/v1/auth/totp/recovery-codes', {
      schema: {
        operationId: 'regenerateRecoveryCodes',
        tags: ['accounts'],
        description: 'After the password and a code (or an unused recovery code): ten new recovery codes, shown this once; the earlier ones stop working.',
        body: z.strictObject({ password, code: secondFactorCode }),
        response: { 200: recoveryCodes },
      },
      handler: async (request, reply) => {
        const principal = await auth.requireUser(request);
        const codes = await totp.regenerateRecoveryCodes({ principal, ip: request.ip }, request.body.password, request.body.code);
        return reply.header('Cache-Control', 'no-store').send({ recoveryCodes: codes });
      },
    });
  };
}
