/**
 * Serves the embeddable script, loadable from any site (the widget routes do the origin
 * checks). Built from src/widget/ into dist/widget.js by scripts/build.mjs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../../platform/http/types.ts';

export function widgetScriptRoute(deps: { rootDir: string }) {
  const scriptPath = join(deps.rootDir, 'dist', 'widget.js');
  let cached: Buffer | undefined;
  return async function plugin(app: App): Promise<void> {
    app.get('/widget.js', { schema: { hide: true } }, async (_request, reply) => {
      if (!cached && !existsSync(scriptPath)) return reply.code(503).type('text/plain').send('widget.js is not built: run `node scripts/build.mjs`.');
      cached ??= readFileSync(scriptPath);
      reply.header('Cross-Origin-Resource-Policy', 'cross-origin');
      // Public and the same for everyone: a host page may load it with crossorigin="anonymous"
      // and an integrity hash (Subresource Integrity), which needs CORS.
      reply.header('Access-Control-Allow-Origin', '*');
      reply.header('Cache-Control', 'public, max-age=300');
      return reply.type('application/javascript; charset=utf-8').send(cached);
    });
  };
}
