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

/** A provider's answers (discovery, JWKS, tokens) are small: a bigger one is refused unread. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/** fetch whose response bodies are read whole but only up to `max` bytes (parsed JSON is held in memory). */
function capped(inner: typeof fetch, max: number): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await inner(input, init);
    const declared = Number(response.headers.get('content-length') ?? 0);
    const tooBig = (): never => {
      throw new Error(`The identity provider's answer is larger than ${max / 1024} KiB.`);
    };
    if (declared > max) {
      await response.body?.cancel();
      tooBig();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > max) tooBig();
        chunks.push(chunk);
      }
    }
    const body = size === 0 || [101, 204, 205, 304].includes(response.status) ? null : Buffer.concat(chunks);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }) as typeof fetch;
}

export async function discoverOidc(options: { issuer: string; clientId: string; clientSecret: string; fetch: typeof fetch; allowHttp: boolean }): Promise<OidcClient> {
  const config = await client.discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, {
    [client.customFetch]: capped(options.fetch, MAX_RESPONSE_BYTES) as unknown as client.CustomFetch,
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
