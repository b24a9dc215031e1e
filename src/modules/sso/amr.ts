/**
 * Did the identity provider sign the person in with more than one factor? Read from the ID
 * token's `amr` claim (RFC 8176 method names), which the provider signs: `mfa` says so outright
 * (Microsoft Entra ID, Okta, Auth0 send it); otherwise a password together with a second factor
 * of another kind counts. A provider that sends no `amr` reports nothing, so it counts as one
 * factor: an organisation that requires two-factor sign-in then refuses its members.
 */
const SECOND_FACTORS: ReadonlySet<string> = new Set(['otp', 'hwk', 'swk', 'sms', 'tel', 'sc', 'fpt', 'face', 'iris', 'retina', 'vbm']);

export function providerReportedMfa(claims: Record<string, unknown>): boolean {
  const amr = claims.amr;
  if (!Array.isArray(amr) || amr.length > 32) return false;
  const methods = amr.filter((m): m is string => typeof m === 'string');
  if (methods.includes('mfa')) return true;
  return methods.includes('pwd') && methods.some((m) => SECOND_FACTORS.has(m));
}
