/**
 * Host-name normalisation shared by allow-list patterns and `Origin` headers: IDN → punycode,
 * lower case, one trailing dot dropped, IPv4 written canonically. It only ever returns hosts
 * made of `[a-z0-9.-]`, so what it returns can be compared as plain strings and written into a
 * CSP header without escaping. IPv6 literals are refused: CSP host-sources cannot express them.
 */
import { domainToASCII } from 'node:url';

export type HostKind = 'domain' | 'ipv4';
export type HostResult = { ok: true; host: string; kind: HostKind } | { ok: false; reason: string };

const maxHostLength = 253;
const maxLabelLength = 63;
// Anything the URL parser would treat as a delimiter, or decode, is refused before parsing so
// that `a.com@b.com`, `a.com/x`, `a.com%2e` and friends never normalise into a different host.
const forbiddenRaw = /[\s\u0000-\u001f\u007f/\\?#@%[\]*:,;'"<>`^|{}]/u;
const ipv4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const label = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export function normaliseHost(raw: string): HostResult {
  if (raw.length === 0) return { ok: false, reason: 'The host name is empty.' };
  if (forbiddenRaw.test(raw)) {
    return { ok: false, reason: 'Write a host name only: no spaces, paths, user names or IPv6 literals.' };
  }
  // domainToASCII runs the WHATWG host parser: IDNA mapping, punycode, IPv4 canonical form.
  let host = domainToASCII(raw);
  if (host === '') return { ok: false, reason: `"${raw}" is not a valid host name.` };
  if (host.endsWith('.')) host = host.slice(0, -1);
  return checkAsciiHost(host);
}

/** Validates a host that is already ASCII and lower case (as a browser serialises it). */
export function checkAsciiHost(host: string): HostResult {
  if (host.length === 0 || host.length > maxHostLength) {
    return { ok: false, reason: `A host name has 1 to ${maxHostLength} characters.` };
  }
  if (ipv4.test(host)) return { ok: true, host, kind: 'ipv4' };
  for (const part of host.split('.')) {
    if (part.length > maxLabelLength) {
      return { ok: false, reason: `Each part of a host name has at most ${maxLabelLength} characters.` };
    }
    if (!label.test(part)) {
      return { ok: false, reason: `"${host}" is not a valid host name (letters, digits and inner hyphens only).` };
    }
  }
  return { ok: true, host, kind: 'domain' };
}
