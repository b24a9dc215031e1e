/**
 * A small OpenID Connect provider on 127.0.0.1 for the SSO tests: discovery, an authorisation
 * endpoint that signs in whoever the test names (no login page), a token endpoint that checks
 * the client secret, the code and its PKCE verifier, and RS256 ID tokens from a JWKS. Knobs let a
 * test make it misbehave (another audience, no verified e-mail, a replayed nonce).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface IdpUser {
  sub: string;
  email: string;
  email_verified?: boolean;
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who the next authorisation signs in. */
  user: IdpUser;
  /** Changes to the next ID token's claims (e.g. { aud: 'other' }). */
  tamper: Record<string, unknown>;
  /** Bytes of padding in the discovery document (a provider that answers too much). */
  padDiscovery: number;
  /** Signs the next ID tokens with a key that is not in the JWKS. */
  forgeSignature: boolean;
  tokenRequests: number;
  close(): Promise<void>;
}

export async function startTestIdp(): Promise<TestIdp> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const forger = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce: string | null; challenge: string; redirectUri: string; user: IdpUser }>();
  let server: Server;
  const idp: TestIdp = {
    issuer: '',
    clientId: 'palisade-test',
    clientSecret: randomBytes(16).toString('hex'),
    user: { sub: 'u-1', email: 'pat@corp.example', email_verified: true },
    tamper: {},
    forgeSignature: false,
    padDiscovery: 0,
    tokenRequests: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', idp.issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: idp.issuer,
        authorization_endpoint: `${idp.issuer}/authorize`,
        token_endpoint: `${idp.issuer}/token`,
        jwks_uri: `${idp.issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        ...(idp.padDiscovery ? { padding: 'x'.repeat(idp.padDiscovery) } : {}),
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const p = url.searchParams;
      if (p.get('client_id') !== idp.clientId || p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256') return json(400, { error: 'invalid_request' });
      const code = randomBytes(16).toString('hex');
      codes.set(code, { nonce: p.get('nonce'), challenge: p.get('code_challenge') ?? '', redirectUri: p.get('redirect_uri') ?? '', user: { ...idp.user } });
      const back = new URL(p.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.get('state') ?? '');
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        void (async () => {
          idp.tokenRequests += 1;
          const form = new URLSearchParams(body);
          const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
          const [id, secret] = basic.split(':').map(decodeURIComponent);
          const clientOk = (id === idp.clientId && secret === idp.clientSecret) || (form.get('client_id') === idp.clientId && form.get('client_secret') === idp.clientSecret);
          if (!clientOk) return json(401, { error: 'invalid_client' });
          const grant = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          if (!grant || grant.redirectUri !== form.get('redirect_uri') || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
            return json(400, { error: 'invalid_grant' });
          }
          const now = Math.floor(Date.now() / 1000);
          const claims = {
            iss: idp.issuer,
            aud: idp.clientId,
            sub: grant.user.sub,
            iat: now,
            exp: now + 300,
            email: grant.user.email,
            email_verified: grant.user.email_verified ?? true,
            ...(grant.nonce ? { nonce: grant.nonce } : {}),
            ...idp.tamper,
          };
          const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(idp.forgeSignature ? forger : privateKey);
          json(200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: idToken });
        })();
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  idp.issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return idp;
}
