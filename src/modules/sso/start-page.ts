/**
 * Login CSRF defence for starting a sign-in. If any page could send a browser to
 * `/v1/auth/sso/{slug}/start` and straight on to the provider, a page could start a sign-in to
 * an organisation whose provider approves without asking — its own, for instance, with an
 * identity it controls — and the browser would come back signed in to that account.
 *
 * So a sign-in starts at once only when the browser says the request came from this origin
 * (`Sec-Fetch-Site: same-origin`, the dashboard's own link). Anything else — a link on another
 * site, an identity provider's app tile, a link opened from a mail client or chat app (those send
 * `Sec-Fetch-Site: none`, like a typed address), a browser that sends no Sec-Fetch headers — gets
 * a page with one button that posts back to the same address, and a post starts a sign-in only
 * from this origin. The page cannot be framed, so the click is the user's; its referrer policy
 * lets the post carry its Origin (under `no-referrer` a browser sends `Origin: null`).
 */
import type { FastifyRequest } from 'fastify';

/** True when the browser says this request came from this origin. */
export function startedHere(request: FastifyRequest): boolean {
  return request.headers['sec-fetch-site'] === 'same-origin';
}

/**
 * For the post: from this origin. Sec-Fetch-Site decides when the browser sends it; otherwise the
 * Origin header must be the public URL's origin. A request with neither is refused.
 */
export function postedFromHere(request: FastifyRequest, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  return request.headers.origin === publicOrigin;
}

/**
 * No scripts, no images, nothing from elsewhere, never framed; no form-action (the API profile's
 * `'none'` would stop the button, and the post's redirect goes to the provider).
 */
export const START_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";
/** Sends the page's own origin (and nothing to other sites), so the button's post carries an Origin to check. */
export const START_PAGE_REFERRER_POLICY = 'same-origin';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function startPage(orgSlug: string): string {
  const slug = escapeHtml(orgSlug);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="same-origin"><title>Sign in to ${slug}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}</style></head>
<body>
<h1>Sign in to ${slug}</h1>
<p>You are about to sign in to the organisation <strong>${slug}</strong> with its single sign-on. If you did not ask for this, close this page.</p>
<form method="post"><button type="submit">Continue to sign in</button></form>
</body>
</html>
`;
}
