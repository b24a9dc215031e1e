/**
 * The rate-limit key for a client address. One IPv6 subscriber usually owns a whole /64, so
 * limiting single IPv6 addresses would let one client rotate through 2^64 of them: IPv6 is
 * grouped by /64. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) is the
 * IPv4 client itself and is keyed as such.
 */
import { isIP, isIPv4 } from 'node:net';

/** Shared bucket for anything that is not an IP address, so junk cannot mint fresh keys. */
export const invalidIpKey = 'invalid';

// Some proxies write the client's port into X-Forwarded-For (`1.2.3.4:5678`, `[2001:db8::1]:443`):
// the port is not part of the client, and keeping it would put every such client in the junk bucket.
const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const bracketedIpv6 = /^\[([^\]]+)\](?::\d{1,5})?$/;

/** A client address as one of its family: IPv4 as text, IPv6 as eight groups; undefined if it is none. */
type ClientAddress = { v4: string } | { v6: number[] };

function parseClientAddress(input: string): ClientAddress | undefined {
  const trimmed = input.trim();
  const ip = ipv4WithPort.exec(trimmed)?.[1] ?? bracketedIpv6.exec(trimmed)?.[1] ?? trimmed;
  if (isIPv4(ip)) return { v4: ip };
  // Zone ids (`fe80::1%eth0`) name a local interface, not a different client.
  const address = ip.split('%', 1)[0] ?? '';
  if (isIP(address) !== 6) return undefined;
  const hextets = expandIpv6(address);
  if (!hextets) return undefined;
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    const [hi = 0, lo = 0] = hextets.slice(6);
    return { v4: [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.') };
  }
  return { v6: hextets };
}

/** The first `keep` groups of an IPv6 address, the rest zero, as a network. */
const ipv6Network = (groups: readonly number[], keep: number): string => `${formatIpv6([...groups.slice(0, keep), ...new Array<number>(8 - keep).fill(0)])}/${keep * 16}`;

export function clientKeyForIp(input: string): string {
  const address = parseClientAddress(input);
  if (!address) return invalidIpKey;
  return 'v4' in address ? address.v4 : ipv6Network(address.v6, 4);
}

/**
 * A client address cut to its network for logs — IPv4 to /24, IPv6 to /48 (IPv4-mapped as IPv4):
 * enough to follow an abuse wave, not enough to name a visitor in logs that erasure cannot reach.
 */
export function logNetworkOf(input: string): string {
  const address = parseClientAddress(input);
  if (!address) return invalidIpKey;
  return 'v4' in address ? `${address.v4.split('.').slice(0, 3).join('.')}.0/24` : ipv6Network(address.v6, 3);
}

/** Eight 16-bit groups, with `::` expanded and a trailing dotted IPv4 converted. */
export function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
