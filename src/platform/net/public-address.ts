/**
 * Whether an IP address is on the public internet. Outbound requests to hosts a customer chose
 * (a project's answer endpoint) must not reach the server's own network: loopback, private and
 * link-local ranges (cloud metadata lives at 169.254.169.254), carrier-grade NAT, unique-local
 * IPv6, multicast and reserved space. IPv6 forms that carry an IPv4 address are judged by that
 * address where it sits at a fixed place (IPv4-mapped, well-known NAT64 prefix) and refused
 * outright where it does not, or where the form is deprecated (IPv4-compatible, local-use NAT64,
 * 6to4, Teredo, IPv4-translated).
 */
import { BlockList, isIP } from 'node:net';

const notPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) notPublic.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 96], // IPv4-compatible ::a.b.c.d (deprecated); also :: and ::1
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT), never a destination on the internet
  ['64:ff9b:1::', 48], // local-use NAT64: where the IPv4 address sits depends on the network
  ['100::', 64],
  ['2001::', 32], // Teredo
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) notPublic.addSubnet(network, prefix, 'ipv6');

/** The eight 16-bit groups of an address that isIP() accepted as IPv6, without a zone id. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const [head, tail] = text.split('::');
  if (tail === undefined) return groups(head);
  const before = groups(head);
  const after = groups(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !notPublic.check(address, 'ipv4');
  // A zone id (fe80::1%eth0) only qualifies a local address, and BlockList does not judge one.
  if (family !== 6 || address.includes('%')) return false;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = ipv6Groups(address);
  // Well-known NAT64 prefix 64:ff9b::/96: the gateway reaches the IPv4 address in the last 32 bits.
  if (g0 === 0x64 && g1 === 0xff9b && !g2 && !g3 && !g4 && !g5) return isPublicAddress([g6 >> 8, g6 & 255, g7 >> 8, g7 & 255].join('.'));
  // IPv4-mapped addresses (::ffff:0:0/96, in any spelling) are checked against the IPv4 ranges by BlockList itself.
  return !notPublic.check(address, 'ipv6');
}

/**
 * The operator's own networks, reachable when ANSWER_ALLOW_PRIVATE_NETWORKS is on: loopback,
 * RFC 1918, carrier-grade NAT and unique-local IPv6. Link-local space (169.254.0.0/16, where cloud
 * metadata answers, and fe80::/10), multicast and reserved space stay out, and so do the metadata
 * endpoints that sit inside these ranges (Alibaba's 100.100.100.200, AWS's fd00:ec2::254).
 */
const privateNetworks = new BlockList();
for (const [network, prefix] of [['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) privateNetworks.addSubnet(network, prefix, 'ipv4');
privateNetworks.addAddress('::1', 'ipv6');
privateNetworks.addSubnet('fc00::', 7, 'ipv6');
const metadataEndpoints = new BlockList();
metadataEndpoints.addAddress('100.100.100.200', 'ipv4');
metadataEndpoints.addAddress('fd00:ec2::254', 'ipv6');

const linkLocal = new BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');

/** The BlockList family of an address without a zone id; undefined for anything else. */
function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  const family = isIP(address);
  return family === 0 || address.includes('%') ? undefined : family === 4 ? 'ipv4' : 'ipv6';
}

export function isPrivateNetworkAddress(address: string): boolean {
  const type = familyOf(address);
  return type !== undefined && privateNetworks.check(address, type) && !metadataEndpoints.check(address, type);
}

/**
 * On the machine's own networks — loopback, private, carrier-grade NAT or link-local — with no
 * exception: where a proxy of one's own sits (TRUST_PROXY), not a place to send requests to.
 */
export function isLocalNetworkAddress(address: string): boolean {
  const type = familyOf(address);
  return type !== undefined && (privateNetworks.check(address, type) || linkLocal.check(address, type));
}

/** Public, or on the operator's own networks (see isPrivateNetworkAddress). */
export function isPublicOrPrivateNetworkAddress(address: string): boolean {
  return isPublicAddress(address) || isPrivateNetworkAddress(address);
}
