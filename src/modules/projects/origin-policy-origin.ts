/**
 * Reads a request's `Origin` header into (scheme, host, port). Browsers send the serialised
 * origin; anything else is parsed just as strictly, so one origin has exactly one reading.
 */
import { checkAsciiHost } from './origin-policy-host.ts';
import { defaultPorts, type Scheme } from './origin-policy-pattern.ts';

export interface ParsedOrigin {
  readonly scheme: Scheme;
  readonly host: string;
  readonly port: number;
  /** `scheme://host[:port]`, the port only when it is not the scheme's default. */
  readonly serialised: string;
}

export type OriginParseResult =
  | { ok: true; origin: ParsedOrigin }
  | { ok: false; reason: 'malformed_origin' | 'ipv6_origin' };

const maxOriginLength = 300;

export function parseOrigin(raw: string): OriginParseResult {
  if (raw.length > maxOriginLength || /[\s@\\]/u.test(raw)) return { ok: false, reason: 'malformed_origin' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'malformed_origin' };
  }
  const scheme = url.protocol === 'https:' ? 'https' : url.protocol === 'http:' ? 'http' : null;
  if (scheme === null || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return { ok: false, reason: 'malformed_origin' };
  }
  if (url.hostname.startsWith('[')) return { ok: false, reason: 'ipv6_origin' };
  const hostname = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  const host = checkAsciiHost(hostname);
  if (!host.ok) return { ok: false, reason: 'malformed_origin' };
  const port = url.port === '' ? defaultPorts[scheme] : Number(url.port);
  const serialised = `${scheme}://${host.host}${port === defaultPorts[scheme] ? '' : `:${port}`}`;
  return { ok: true, origin: { scheme, host: host.host, port, serialised } };
}
