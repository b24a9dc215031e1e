/**
 * A project's allowed domains: which browser origins may use its widget routes and frame it.
 * Owns the pattern grammar, its normalised stored form, the per-request origin decision and the
 * CSP `frame-ancestors` list. Pure: no I/O, no clock, no state between calls.
 *
 * Pattern grammar:  [scheme "://"] ["*."] host [":" port] ["/"]
 *
 * Host
 *   - `docs.example.com` matches exactly that host.
 *   - `*.example.com` matches sub-domains at any depth (`a.example.com`, `a.b.example.com`),
 *     never `example.com` itself (list it too), `evil-example.com` or `example.com.evil.net`,
 *     nor a host under a public suffix below the base (`*.amazonaws.com` never admits
 *     `evil.s3.amazonaws.com`: `s3.amazonaws.com` is on the public-suffix list).
 *   - Case and one trailing dot are ignored; IDN is stored as punycode (`bücher.example` →
 *     `xn--bcher-kva.example`); IPv4 is stored canonically. IPv6 literals are refused (CSP
 *     host-sources cannot express them).
 *   - Refused: a bare `*`, `*` anywhere but the first label, a wildcard over a public suffix
 *     (`*.com`, `*.co.uk`, `*.github.io`, any single-label TLD) or over an IP address, paths,
 *     user names, whitespace, `%`-escapes, labels over 63 or hosts over 253 characters.
 *   - `localhost` is never implied: it matches only when listed, like any other host.
 *
 * Scheme
 *   - No scheme: https only — except loopback hosts (`localhost`, `*.localhost`, `127.x.x.x`),
 *     which accept http and https.
 *   - `https://host`: https only. `http://host` (must be written out for a non-loopback host):
 *     http and its https upgrade, which is also how CSP reads an http source.
 *   - Other schemes (`file:`, `chrome-extension:` …) and `Origin: null` are always refused.
 *
 * Port
 *   - No port: the scheme's default port only (443 for https, 80 for http).
 *   - `host:8443` or `http://localhost:4100`: exactly that port, for each accepted scheme.
 *   - There is no port wildcard: list each development port.
 *
 * Stored form: lower case, punycode, no trailing dot, no default port, and no `https://` on a
 * non-loopback host (it adds nothing). Two patterns mean the same iff their stored forms are equal.
 */
import { getDomain } from 'tldts';
import { z } from 'zod';
import { cspSource, defaultPorts, formatRule, parseRule, type OriginRule } from './origin-policy-pattern.ts';
import { parseOrigin } from './origin-policy-origin.ts';

export const maxAllowedDomainLength = 253;
export const maxAllowedDomains = 100;

export type ParseAllowedDomainResult = { ok: true; value: string } | { ok: false; reason: string };

export type OriginRefusal = 'missing_origin' | 'null_origin' | 'malformed_origin' | 'not_allowed' | 'no_domains';
export type OriginDecision = { ok: true; origin: string } | { ok: false; reason: OriginRefusal };

export interface OriginMatcher {
  /** Decides one request's `Origin` header; `origin` in the result is its canonical form. */
  match(origin: string | undefined): OriginDecision;
  /** The CSP `frame-ancestors` source list for the same patterns. */
  readonly frameAncestors: string;
  /** The same sources one by one (empty when nothing is allowed), e.g. for `allowFraming`. */
  readonly sources: readonly string[];
}

export function parseAllowedDomain(input: string): ParseAllowedDomainResult {
  if (input.length > maxAllowedDomainLength) {
    return { ok: false, reason: `A domain has at most ${maxAllowedDomainLength} characters.` };
  }
  const parsed = parseRule(input);
  return parsed.ok ? { ok: true, value: formatRule(parsed.rule) } : parsed;
}

export const allowedDomainSchema = z
  .string()
  .max(maxAllowedDomainLength, `A domain has at most ${maxAllowedDomainLength} characters.`)
  .transform((input, ctx): string => {
    const parsed = parseAllowedDomain(input);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.reason, input });
    return z.NEVER;
  });

export const allowedDomainsSchema = z
  .array(allowedDomainSchema)
  .max(maxAllowedDomains, `A project has at most ${maxAllowedDomains} allowed domains.`)
  .transform((domains): string[] => [...new Set(domains)]);

/**
 * Compiles stored patterns once (e.g. per project, cached with it). Patterns that no longer parse
 * are dropped, so a bad row narrows access and never widens it.
 */
export function compileAllowList(allowed: readonly string[]): OriginMatcher {
  const exact = new Map<string, OriginRule[]>();
  const wildcards = new Map<string, OriginRule[]>();
  const sources = new Set<string>();
  for (const pattern of allowed) {
    const parsed = parseRule(pattern);
    if (!parsed.ok) continue;
    const byHost = parsed.rule.wildcard ? wildcards : exact;
    const rules = byHost.get(parsed.rule.host) ?? [];
    rules.push(parsed.rule);
    byHost.set(parsed.rule.host, rules);
    sources.add(cspSource(parsed.rule));
  }
  const empty = sources.size === 0;

  function match(header: string | undefined): OriginDecision {
    if (empty) return { ok: false, reason: 'no_domains' };
    if (header === undefined || header === '') return { ok: false, reason: 'missing_origin' };
    if (header.trim().toLowerCase() === 'null') return { ok: false, reason: 'null_origin' };
    const parsed = parseOrigin(header);
    if (!parsed.ok) return { ok: false, reason: parsed.reason === 'ipv6_origin' ? 'not_allowed' : 'malformed_origin' };
    const { scheme, host, port, serialised } = parsed.origin;
    const admits = (rule: OriginRule): boolean =>
      rule.schemes.includes(scheme) && (rule.port === null ? port === defaultPorts[scheme] : rule.port === port);
    if (exact.get(host)?.some(admits)) return { ok: true, origin: serialised };
    // Walk the parent domains of the host: a wildcard listed for one of them admits it — when the
    // host's registrable domain is the wildcard's base or above it (see withinRegistrableDomain).
    for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const base = host.slice(dot + 1);
      if (wildcards.get(base)?.some(admits) && withinRegistrableDomain(host, base)) return { ok: true, origin: serialised };
    }
    return { ok: false, reason: 'not_allowed' };
  }

  return { match, frameAncestors: empty ? "'none'" : [...sources].join(' '), sources: [...sources] };
}

/**
 * A wildcard's base must not lie above a public suffix the host sits under: `*.amazonaws.com`
 * passes the pattern check (amazonaws.com is no suffix itself), but the public-suffix list names
 * `s3.amazonaws.com`, `web.core.windows.net` … below such bases, where anyone gets a name of their
 * own. The host's registrable domain (private suffixes included) must be the base or a parent of it.
 */
function withinRegistrableDomain(host: string, base: string): boolean {
  const domain = getDomain(host, { allowPrivateDomains: true });
  return domain !== null && (base === domain || base.endsWith(`.${domain}`));
}

export function matchOrigin(origin: string | undefined, allowed: readonly string[]): OriginDecision {
  return compileAllowList(allowed).match(origin);
}

export function frameAncestors(allowed: readonly string[]): string {
  return compileAllowList(allowed).frameAncestors;
}
