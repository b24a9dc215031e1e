/**
 * One allowed-domain pattern: parsing it into a rule, writing the rule back in its one
 * normalised form, and turning it into a CSP host-source. The grammar and the scheme and port
 * rules are documented in origin-policy.ts.
 */
import { parse as parseDomain } from 'tldts';
import { isLoopbackHost } from '../../platform/net/loopback.ts';
import { normaliseHost } from './origin-policy-host.ts';

export type Scheme = 'http' | 'https';

export interface OriginRule {
  /** The scheme written in the pattern, if any. */
  readonly explicitScheme: Scheme | null;
  /** The schemes an origin may use: an http source also accepts its https upgrade, as CSP does. */
  readonly schemes: readonly Scheme[];
  readonly wildcard: boolean;
  readonly host: string;
  /** null: the default port of the origin's scheme (443 for https, 80 for http). */
  readonly port: number | null;
}

export type RuleResult = { ok: true; rule: OriginRule } | { ok: false; reason: string };

export const defaultPorts: Readonly<Record<Scheme, number>> = { http: 80, https: 443 };

const schemePrefix = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const portSuffix = /:(\d{1,5})$/;

export function parseRule(input: string): RuleResult {
  if (input.length === 0) return { ok: false, reason: 'Enter a domain such as docs.example.com or *.example.com.' };
  if (/\s/u.test(input)) return { ok: false, reason: 'A domain cannot contain spaces.' };

  let rest = input;
  let explicitScheme: Scheme | null = null;
  const scheme = schemePrefix.exec(rest);
  if (scheme) {
    const name = (scheme[1] ?? '').toLowerCase();
    if (name !== 'http' && name !== 'https') {
      return { ok: false, reason: 'Only http:// and https:// origins can embed the widget.' };
    }
    explicitScheme = name;
    rest = rest.slice(scheme[0].length);
  }
  // A pasted origin often ends in "/"; anything after it would be a path, which means nothing here.
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest.includes('/')) return { ok: false, reason: 'Enter a domain without a path.' };
  if (rest.includes('@')) return { ok: false, reason: 'Enter a domain without a user name or password.' };

  let port: number | null = null;
  const portMatch = portSuffix.exec(rest);
  if (portMatch) {
    port = Number(portMatch[1]);
    if (port < 1 || port > 65535) return { ok: false, reason: 'A port is a number from 1 to 65535.' };
    rest = rest.slice(0, portMatch.index);
  }
  if (rest.includes(':')) return { ok: false, reason: 'Write a port as host:port; IPv6 addresses are not supported.' };

  const wildcard = rest.startsWith('*.');
  if (wildcard) rest = rest.slice(2);
  if (rest === '*' || rest === '') return { ok: false, reason: 'A bare * would allow every site; list your domains instead.' };
  if (rest.includes('*')) {
    return { ok: false, reason: 'A wildcard is only allowed as the first label, as in *.example.com.' };
  }

  const host = normaliseHost(rest);
  if (!host.ok) return host;
  if (wildcard) {
    if (host.kind === 'ipv4') return { ok: false, reason: 'A wildcard cannot cover an IP address.' };
    const info = parseDomain(host.host, { allowPrivateDomains: true });
    if (info.domain === null || info.publicSuffix === host.host) {
      return {
        ok: false,
        reason: `*.${host.host} would cover a public suffix shared by unrelated sites; list your own domain instead.`,
      };
    }
    if (info.domain !== null && wildcardDnsServices.has(info.domain)) {
      return { ok: false, reason: `*.${host.host} would cover a wildcard-DNS service where anyone gets a name; list your own domain instead.` };
    }
  }

  const loopback = isLoopbackHost(host.host);
  const schemes: Scheme[] =
    explicitScheme === 'https' ? ['https'] : explicitScheme === 'http' || loopback ? ['http', 'https'] : ['https'];
  // A default port written out is the same pattern as none (CSP also lets http's :80 cover https's :443).
  const onlyScheme = schemes.length === 1 ? schemes[0] : undefined;
  if (onlyScheme !== undefined && port === defaultPorts[onlyScheme]) port = null;
  if (explicitScheme === 'http' && port === defaultPorts.http) port = null;
  return { ok: true, rule: { explicitScheme, schemes, wildcard, host: host.host, port } };
}

/**
 * Services that give every name under them to whoever asks (any IP address is a sub-domain): not
 * on the public-suffix list, yet a wildcard over one allows anybody's site.
 */
const wildcardDnsServices: ReadonlySet<string> = new Set(['nip.io', 'sslip.io', 'xip.io', 'lvh.me', 'localtest.me', 'traefik.me', 'vcap.me']);

export function formatRule(rule: OriginRule): string {
  // "https://" adds nothing to a non-loopback pattern: https is already the only scheme there.
  const keepScheme = rule.explicitScheme === 'http' || (rule.explicitScheme === 'https' && isLoopbackHost(rule.host));
  return `${keepScheme ? `${rule.explicitScheme}://` : ''}${rule.wildcard ? '*.' : ''}${rule.host}${
    rule.port === null ? '' : `:${rule.port}`
  }`;
}

/** CSP host-source with the same meaning: an http source admits https too, a bare one the default port. */
export function cspSource(rule: OriginRule): string {
  const scheme: Scheme = rule.schemes.includes('http') ? 'http' : 'https';
  return `${scheme}://${rule.wildcard ? '*.' : ''}${rule.host}${rule.port === null ? '' : `:${rule.port}`}`;
}
