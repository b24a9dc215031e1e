/**
 * Who is calling. Modules that authenticate (accounts: session cookie; api-keys: Bearer key)
 * produce a Principal; routes ask the authoriser for a permission and never look at roles.
 */
export type Principal =
  | { kind: 'user'; userId: string; sessionId: string; email: string }
  | { kind: 'api_key'; keyId: string; orgId: string; scopes: readonly string[]; projectIds: readonly string[] | null; expiresAt: Date | null };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
