/** HTTP for accounts and sessions: parse, authorise, call the service, shape the reply. */
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { readCookie } from '../../platform/http/cookies.ts';
import type { AccountService, NewSession } from './service.ts';
import { PASSWORD_MAX } from './passwords.ts';
import type { PasswordChanger } from './password-change.ts';
import { secondFactorCode } from './totp-routes.ts';

const email = z.email().max(254);
const userView = z.object({ id: z.string(), email: z.string(), name: z.string().nullable() });

export interface SessionCookie {
  name: string;
  secure: boolean;
}

export function sessionCookie(publicUrl: string): SessionCookie {
  const secure = publicUrl.startsWith('https:');
  // __Host- binds the cookie to this exact origin (Secure, Path=/, no Domain) where TLS allows it.
  return { name: secure ? '__Host-palisade_session' : 'palisade_session', secure };
}

/** Sets the session cookie of a new session (sign-up, sign-in, single sign-on). */
export function setSessionCookie(reply: FastifyReply, cookie: SessionCookie, session: NewSession): void {
  reply.setCookie(cookie.name, session.token, { httpOnly: true, sameSite: 'lax', secure: cookie.secure, path: '/', expires: session.expiresAt });
}

export function accountRoutes(deps: { accounts: AccountService; changePassword: PasswordChanger; auth: Authenticator; cookie: SessionCookie }) {
  const { accounts, auth, cookie } = deps;

  const client = (request: FastifyRequest) => ({ ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
  // Setting and clearing must match: a browser ignores the deletion of a __Host- cookie without Secure and Path=/.
  const attributes = { httpOnly: true, sameSite: 'lax', secure: cookie.secure, path: '/' } as const;
  const setCookie = (reply: FastifyReply, session: NewSession) => setSessionCookie(reply, cookie, session);

  return async function plugin(app: App): Promise<void> {
    app.post('/v1/auth/signup', {
      schema: {
        operationId: 'signup',
        tags: ['accounts'],
        body: z.strictObject({ email, password: z.string().max(PASSWORD_MAX), orgName: z.string().trim().min(1).max(100), name: z.string().trim().max(100).optional() }),
      },
      handler: async (request, reply) => {
        const { user, org, session } = await accounts.signup(request.body, client(request));
        setCookie(reply, session);
        return reply.code(201).send({ user, org, csrfToken: session.csrfToken });
      },
    });

    app.post('/v1/auth/login', {
      schema: {
        operationId: 'login',
        tags: ['accounts'],
        body: z.strictObject({ email, password: z.string().max(PASSWORD_MAX), totp: secondFactorCode.optional() }),
        response: { 200: z.object({ user: userView, csrfToken: z.string() }) },
      },
      handler: async (request, reply) => {
        const { user, session } = await accounts.login(request.body, client(request));
        setCookie(reply, session);
        return { user, csrfToken: session.csrfToken };
      },
    });

    app.post('/v1/auth/logout', { schema: { operationId: 'logout', tags: ['accounts'] } }, async (request, reply) => {
      await accounts.logout(await auth.requireUser(request), request.ip);
      reply.clearCookie(cookie.name, attributes);
      return reply.code(204).send();
    });

    app.post('/v1/auth/password', {
      schema: {
        operationId: 'changePassword',
        tags: ['accounts'],
        description: 'The current password, and a code when two-factor sign-in is on, for a new password; ends every other session of the user.',
        body: z.strictObject({ currentPassword: z.string().max(PASSWORD_MAX), newPassword: z.string().max(PASSWORD_MAX), code: secondFactorCode.optional() }),
      },
      handler: async (request, reply) => {
        await deps.changePassword({ principal: await auth.requireUser(request), ip: request.ip }, request.body);
        return reply.code(204).send();
      },
    });

    app.get('/v1/me', { schema: { operationId: 'getMe', tags: ['accounts'] } }, async (request) => {
      const principal = await auth.requireUser(request);
      return accounts.me(principal, readCookie(request, cookie.name) ?? '');
    });

    app.get('/v1/auth/sessions', { schema: { operationId: 'listSessions', tags: ['accounts'] } }, async (request) => ({
      sessions: await accounts.listSessions(await auth.requireUser(request)),
    }));

    app.delete('/v1/auth/sessions/:sessionId', {
      schema: { operationId: 'revokeSession', tags: ['accounts'], params: z.strictObject({ sessionId: z.string().max(64) }) },
      handler: async (request, reply) => {
        await accounts.revokeSession(await auth.requireUser(request), request.params.sessionId, request.ip);
        return reply.code(204).send();
      },
    });

    app.delete('/v1/auth/sessions', { schema: { operationId: 'revokeOtherSessions', tags: ['accounts'] } }, async (request) => ({
      revoked: await accounts.revokeOtherSessions(await auth.requireUser(request), request.ip),
    }));
  };
}
