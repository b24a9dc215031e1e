/** Liveness and readiness. /readyz answers 503 while the database cannot be reached. */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';
import type { App } from './types.ts';

export function healthRoutes(deps: { db: Kysely<DB> }) {
  return async function plugin(app: App): Promise<void> {
    app.get('/healthz', { schema: { operationId: 'healthz', tags: ['operations'] } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { operationId: 'readyz', tags: ['operations'] } }, async (_request, reply) => {
      try {
        await sql`SELECT 1`.execute(deps.db);
        return { status: 'ready' };
      } catch {
        return reply.code(503).send({ status: 'unavailable', detail: 'The database cannot be reached.' });
      }
    });
  };
}
