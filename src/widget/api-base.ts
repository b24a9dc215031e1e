/**
 * Where the widget's API lives: the folder the script was loaded from, so Palisade served under a
 * path (PUBLIC_URL https://example.com/palisade, a proxy stripping the prefix) is called there and
 * not at the origin's root, where something else answers. Only http(s); null for anything else.
 */
export function apiBaseOf(scriptSrc: string): string | null {
  let url: URL;
  try {
    url = new URL(scriptSrc);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  return url.origin + url.pathname.replace(/\/[^/]*$/, '');
}
