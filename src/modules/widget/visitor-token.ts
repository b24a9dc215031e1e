/**
 * Visitor session tokens: short-lived JWTs (HS256) that bind a visitor to one project and the
 * origin that asked for them. A token used from another origin or for another project is refused,
 * and so is one issued before the project's visitor sessions were last ended (its epoch).
 */
import { SignJWT, jwtVerify } from 'jose';
import { AppError } from '../../platform/http/errors.ts';

export const VISITOR_TOKEN_TTL_SECONDS = 3600;

export interface VisitorClaims {
  visitorId: string;
  sessionId: string;
  projectId: string;
  origin: string;
  verified: boolean;
  /** For a verified visitor: the project's identity secret version it was verified with. */
  identityVersion: number | null;
  /** The project's visitor-sessions epoch when the token was issued. */
  sessionsEpoch: number;
}

export function createVisitorTokens(secret: Uint8Array, issuer: string) {
  // Imported once: given raw bytes, jose imports a WebCrypto key on every call, about half of
  // what checking a token costs on the message path.
  let imported: Promise<CryptoKey> | undefined;
  const key = (): Promise<CryptoKey> =>
    (imported ??= crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']));

  async function issue(claims: VisitorClaims, now: Date): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + VISITOR_TOKEN_TTL_SECONDS;
    const token = await new SignJWT({ sid: claims.sessionId, pid: claims.projectId, orn: claims.origin, vfd: claims.verified, ivr: claims.identityVersion, vse: claims.sessionsEpoch })
      .setProtectedHeader({ alg: 'HS256', typ: 'palisade-visitor+jwt' })
      .setSubject(claims.visitorId)
      .setIssuer(issuer)
      .setAudience('palisade-widget')
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(await key());
    return { token, expiresAt: new Date(exp * 1000) };
  }

  const refused = (): AppError => new AppError('invalid_visitor_token', 'The visitor session is missing, expired or not valid here. Start a new one.');

  /**
   * `identityVersion`: the project's identity secret version now; a verified token minted under
   * an earlier secret is refused, so rotating a leaked secret ends the sessions opened with it.
   * `sessionsEpoch`: the project's visitor-sessions epoch now; a token of an earlier one is refused.
   */
  async function verify(
    token: string,
    expect: { projectId: string; origin: string; identityVersion: number | null; sessionsEpoch: number },
    now: Date,
  ): Promise<VisitorClaims> {
    try {
      const { payload } = await jwtVerify(token, await key(), {
        algorithms: ['HS256'],
        issuer,
        audience: 'palisade-widget',
        currentDate: now,
        typ: 'palisade-visitor+jwt',
      });
      const claims = {
        visitorId: String(payload.sub ?? ''),
        sessionId: String(payload.sid ?? ''),
        projectId: String(payload.pid ?? ''),
        origin: String(payload.orn ?? ''),
        verified: payload.vfd === true,
        identityVersion: typeof payload.ivr === 'number' ? payload.ivr : null,
        // Tokens issued before epochs existed carry none: they belong to the first epoch.
        sessionsEpoch: typeof payload.vse === 'number' ? payload.vse : 0,
      };
      if (claims.projectId !== expect.projectId || claims.origin !== expect.origin || !claims.visitorId) throw refused();
      if (claims.verified && claims.identityVersion !== expect.identityVersion) throw refused();
      // Only an earlier epoch is refused: a later one was issued after the ending, by an instance
      // that already knew of it while this one's cached project may still be a moment behind.
      if (claims.sessionsEpoch < expect.sessionsEpoch) throw refused();
      return claims;
    } catch {
      throw refused();
    }
  }

  return { issue, verify };
}

export type VisitorTokens = ReturnType<typeof createVisitorTokens>;
