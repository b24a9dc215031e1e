/**
 * fetch for URLs a customer chose: it connects only to addresses a predicate allows — public ones
 * (public-address.ts), or, where the operator allows it, those and its own private networks.
 * The check happens where the connection is made — on the addresses DNS returned for that very
 * connection — so a name that resolves to a public address when checked and a private one when
 * used (DNS rebinding) cannot slip through; literal IP hosts are checked before any request.
 */
import { lookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { isPublicAddress } from './public-address.ts';

export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
}

/** This server's own look-ups are busy: nothing is wrong with the address, so try again shortly. */
export class LookupsBusyError extends Error {
  override name = 'LookupsBusyError';
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

type Allowed = (address: string) => boolean;

/**
 * System look-ups (getaddrinfo) run on libuv's small thread pool and cannot be cancelled: names
 * whose DNS never answers, chosen by a customer (an SSO issuer, a webhook, an answer endpoint),
 * would hold every thread for the resolver's whole timeout and stall password hashing, crypto and
 * file work for everyone. At most this many wait at once; beyond that a call fails at once.
 */
const MAX_PENDING_LOOKUPS = 2;
let pendingLookups = 0;

type Resolve = (hostname: string, options: { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

function guardedLookup(allowed: Allowed, resolve: Resolve) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    if (pendingLookups >= MAX_PENDING_LOOKUPS) {
      callback(new LookupsBusyError(`DNS look-ups are backed up on this server: ${hostname} was not looked up; try again`), []);
      return;
    }
    pendingLookups++;
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      pendingLookups--;
      // A name that does not exist and one that resolves only to private addresses fail alike: a
      // tenant reading its deliveries' errors must not learn which internal names this server's
      // DNS knows (split-horizon names of the operator's network).
      const unreachable = (): void => callback(new BlockedAddressError(`${hostname} does not resolve to an address this server may call`), []);
      if (error) return error.code === 'ENOTFOUND' || error.code === 'ENODATA' ? unreachable() : callback(error, []);
      const usable = addresses.filter((a) => allowed(a.address));
      if (usable.length === 0) return unreachable();
      const wantsAll = (options as { all?: boolean }).all === true;
      if (wantsAll) return callback(null, usable);
      const first = usable[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/** `resolve` is the system look-up; tests give their own. */
export function createGuardedFetch(allowed: Allowed, resolve: Resolve = lookup): typeof fetch {
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(allowed, resolve) } });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !allowed(host)) throw new BlockedAddressError(`${host} is not an address this server may call`);
    try {
      return await undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]);
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      throw cause instanceof BlockedAddressError || cause instanceof LookupsBusyError ? cause : error;
    }
  }) as unknown as typeof fetch;
}

export function createPublicOnlyFetch(): typeof fetch {
  return createGuardedFetch(isPublicAddress);
}
