/**
 * Which URLs the server may call when a customer chose them (webhook receivers, SSO identity
 * providers). The server must not become their way into its own network: requests go through a
 * fetch that connects only to public addresses (checked on the addresses DNS returns for each
 * connection: guarded-fetch.ts), or, where the operator allows private networks for services
 * inside their own network, also to loopback and private ranges — never to link-local space or
 * cloud metadata. Plain http is allowed only then, and only to the operator's networks: a public
 * address written out is refused, and an http connection is made only to a private or loopback
 * address, whatever a name resolves to (internal services often have no TLS; the operator's
 * choice). Redirects are never followed, so a scheme cannot change on the way. What can be refused when the URL is saved is refused then, with a reason,
 * and again before each use (the rules may have been tightened since).
 */
import { isIP } from 'node:net';
import { createGuardedFetch } from './guarded-fetch.ts';
import { isLoopbackHost } from './loopback.ts';
import { isPublicAddress, isPublicOrPrivateNetworkAddress } from './public-address.ts';
import { AppError } from '../http/errors.ts';

export interface UrlPolicy {
  /** Throws invalid_request with the reason when the server would never connect to `url`. */
  check(url: string): void;
  /** fetch that reaches only the addresses this policy allows. */
  fetch: typeof fetch;
}

/** `field` names the URL in refusals ("url", "issuer"). */
export function createUrlPolicy(options: { allowPrivateNetworks: boolean; field?: string }): UrlPolicy {
  const allowed = options.allowPrivateNetworks ? isPublicOrPrivateNetworkAddress : isPublicAddress;
  const field = options.field ?? 'url';
  const refuse = (why: string): never => {
    throw new AppError('invalid_request', `${field}: ${why}`);
  };
  return {
    check(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return refuse('must be an absolute http(s) URL.');
      }
      const host = parsed.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
      // Plain http only to the operator's own networks: a public address written out is refused
      // here, and a name is let through to fetch, which connects over http only to private ones.
      const publicLiteral = isIP(host) !== 0 && isPublicAddress(host);
      if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && options.allowPrivateNetworks && !publicLiteral)) {
        refuse(options.allowPrivateNetworks ? 'must use https (or http to a private or loopback address).' : 'must use https (what is sent there travels only over TLS).');
      }
      if (parsed.username || parsed.password) refuse('must not hold a user name or password.');
      if (parsed.hash) refuse('must not have a #fragment.');
      // (A trailing dot names the same host: 'localhost.' is localhost.)
      if ((isIP(host) && !allowed(host)) || (!options.allowPrivateNetworks && isLoopbackHost(host))) {
        refuse('must reach a public address: this server does not connect to its own or private networks.');
      }
    },
    fetch: options.allowPrivateNetworks ? byScheme(createGuardedFetch(allowed), createGuardedFetch(privateOnly)) : createGuardedFetch(allowed),
  };
}

/** Loopback and the operator's private ranges (never link-local or metadata), not the internet. */
const privateOnly = (address: string): boolean => isPublicOrPrivateNetworkAddress(address) && !isPublicAddress(address);

/** Whether a URL is plain http as a URL parser reads it ("HTTP://", "ht\ttp://" are too). */
function isPlainHttp(url: string): boolean {
  try {
    return new URL(url).protocol === 'http:';
  } catch {
    return false; // not a URL: the https fetch refuses it
  }
}

/** https through one fetch, plain http through another (one that never leaves the operator's networks). */
function byScheme(https: typeof fetch, http: typeof fetch): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return (isPlainHttp(url) ? http : https)(input, init);
  }) as typeof fetch;
}
