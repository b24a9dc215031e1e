/**
 * Whether a host name or address is this machine only: `localhost` and its sub-domains (RFC 6761),
 * 127.0.0.0/8 and `::1`. Decides the demo default and the PUBLIC_URL warning (config.ts) and which
 * allowed domains imply plain http (projects/origin-policy-pattern.ts).
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
