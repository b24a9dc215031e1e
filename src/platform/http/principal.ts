/**
 * Who is calling. Modules that authenticate (accounts: session cookie; api-keys: Bearer key)
 * produce a Principal; routes ask the authoriser for a permission and never look at roles.
 */
export type Principal =
  | {
      kind: 'user';
      userId: string;
      sessionId: string;
      email: string;
      /** A session the organisation's single sign-on started: which organisation, and whether its provider reported more than one factor. */
      sso?: { orgId: string; mfa: boolean };
    }
  | {
      kind: 'api_key';
      keyId: string;
      orgId: string;
      scopes: readonly string[];
      projectIds: readonly string[] | null;
      expiresAt: Date | null;
      /**
       * Which of the key's secrets the request came with, by its stored hash: a write that must
       * not outlive the credential (credential-hold.ts) checks it is still that secret, so a
       * request authenticated just before a rotation cannot act with what the rotation took away.
       */
      secret?: { hash: string; previous: boolean };
    };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
