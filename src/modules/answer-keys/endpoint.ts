/**
 * An answer endpoint's identity for comparisons: origin and path without trailing slashes, so
 * `https://api.example.com/v1/` and `https://api.example.com/v1` are one endpoint.
 */
export function normaliseEndpoint(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** A key may travel only encrypted in transit: https, or plain http that never leaves the machine. */
export function mayCarryKey(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}
