/**
 * The OpenID Connect relying party, by openid-client: discovery, the authorisation URL (PKCE
 * S256, state, nonce) and the code exchange with every check the library makes on the ID token
 * (issuer, audience, expiry, nonce, and — turned on here — its signature against the provider's
 * JWKS). Every request goes
 * through a fetch that reaches only the addresses the operator allows (platform/net): an
 * organisation's admin names the issuer, so it must not become a way into the server's network.
 */
import * as client from 'openid-client';

export interface OidcClient {
  authorizationUrl(params: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): URL;
  /** The verified ID token's claims for the authorisation response at `callbackUrl`. */
  exchange(callbackUrl: URL, expected: { state: string; nonce: string; codeVerifier: string }): Promise<Record<string, unknown>>;
}

export async function discoverOidc(options: { issuer: string; clientId: string; clientSecret: string; fetch: typeof fetch; allowHttp: boolean }): Promise<OidcClient> {
  const config = await client.discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, {
    [client.customFetch]: options.fetch as unknown as client.CustomFetch,
    timeout: 10,
    ...(options.allowHttp ? { execute: [client.allowInsecureRequests] } : {}),
  });
  // The ID token's signature is checked against the provider's JWKS too, not only trusted for
  // having come over TLS from the token endpoint.
  client.enableNonRepudiationChecks(config);
  return {
    authorizationUrl({ redirectUri, state, nonce, codeChallenge }) {
      return client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        response_type: 'code',
        state,
        nonce,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      });
    },
    async exchange(callbackUrl, expected) {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('The provider returned no ID token.');
      return claims as Record<string, unknown>;
    },
  };
}

export const pkce = {
  verifier: (): string => client.randomPKCECodeVerifier(),
  challenge: (verifier: string): Promise<string> => client.calculatePKCECodeChallenge(verifier),
  random: (): string => client.randomState(),
};
