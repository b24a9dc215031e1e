/**
 * The demo "customer site": a separate origin (its own port) that embeds the widget, the way a
 * customer's documentation site would. It is on the demo project's allowed domains; the API's
 * own origin is not, so the demo exercises the real cross-origin path.
 */
import { isIP } from 'node:net';
import { createServer, type Server } from 'node:http';

export interface DemoSite {
  url: string;
  close(): Promise<void>;
}

/**
 * The API's address as a page may name it: browsers ignore a bracketed IPv6 literal as a CSP
 * source (the widget would be blocked), so a loopback one is written as localhost.
 */
export function pageAddress(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === '[::1]') url.hostname = 'localhost';
  return url.origin;
}

export async function startDemoSite(options: { host: string; port: number; apiUrl: string; projectId: string }): Promise<DemoSite> {
  const api = pageAddress(options.apiUrl);
  const html = demoPage(`${api}/widget.js`, options.projectId);
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url !== '/' && request.url !== '/index.html')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    response
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': `default-src 'self'; script-src ${api}; connect-src ${api}; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'`,
        'x-content-type-options': 'nosniff',
      })
      .end(html);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    // Allowed domains take no IPv6 literal (nor would `http://::1:…` parse): localhost reaches ::1.
    url: `http://${isIP(options.host) === 6 ? 'localhost' : options.host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function demoPage(scriptSrc: string, projectId: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Palisade demo</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1f2328}code,pre{background:#f6f8fa;border-radius:4px}pre{padding:.75rem;overflow:auto}</style></head>
<body>
<h1>Palisade demo site</h1>
<p>This page stands in for a customer's documentation site. It is on the demo project's allowed domains, so the chat widget (bottom right) answers from the project's knowledge base — Palisade's own documentation. Try “How do I run Palisade on PostgreSQL?”</p>
<p>Embed the widget on your own site with:</p>
<pre><code>&lt;script src="${escapeHtml(scriptSrc)}" data-project-id="${escapeHtml(projectId)}" async&gt;&lt;/script&gt;</code></pre>
<script src="${escapeHtml(scriptSrc)}" data-project-id="${escapeHtml(projectId)}" async></script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
