/**
 * Which URLs a webhook may deliver to. A customer chooses the URL, so the server must not become
 * their way into its own network: deliveries go through a fetch that connects only to public
 * addresses (checked on the addresses DNS returns for each connection, platform/net), or, where
 * the operator sets WEBHOOK_ALLOW_PRIVATE_NETWORKS for receivers inside their own network, also
 * to loopback and private ranges — never to link-local space or cloud metadata. Plain http is
 * allowed only then (internal receivers often have no TLS; the operator's choice).
 * What can be refused when the URL is saved is refused then, with a reason, and again before each
 * delivery (the rules may have been tightened since); addresses are checked at connect time.
 */
import { isIP } from 'node:net';
import { createGuardedFetch } from '../../platform/net/guarded-fetch.ts';
import { isLoopbackHost } from '../../platform/net/loopback.ts';
import { isPublicAddress, isPublicOrPrivateNetworkAddress } from '../../platform/net/public-address.ts';
import { AppError } from '../../platform/http/errors.ts';

export interface UrlPolicy {
  /** Throws invalid_request with the reason when deliveries could never go to `url`. */
  check(url: string): void;
  /** fetch that reaches only the addresses this policy allows. */
  fetch: typeof fetch;
}

export function createUrlPolicy(options: { allowPrivateNetworks: boolean }): UrlPolicy {
  const allowed = options.allowPrivateNetworks ? isPublicOrPrivateNetworkAddress : isPublicAddress;
  const refuse = (why: string): never => {
    throw new AppError('invalid_request', `url: ${why}`);
  };
  return {
    check(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return refuse('must be an absolute http(s) URL.');
      }
      if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && options.allowPrivateNetworks)) {
        refuse(options.allowPrivateNetworks ? 'must use https or http.' : 'must use https (events and their signatures travel only over TLS).');
      }
      if (parsed.username || parsed.password) refuse('must not hold a user name or password: the signature authenticates deliveries.');
      if (parsed.hash) refuse('must not have a #fragment.');
      // A trailing dot names the same host ('localhost.' is localhost).
      const host = parsed.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
      if ((isIP(host) && !allowed(host)) || (!options.allowPrivateNetworks && isLoopbackHost(host))) {
        refuse('must reach a public address: this server does not deliver to its own or private networks.');
      }
    },
    fetch: createGuardedFetch(allowed),
  };
}
