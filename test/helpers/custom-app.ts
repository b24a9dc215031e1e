/**
 * The real app with extra test routes or transport settings (TLS, limits, trustProxy), on a
 * fresh database, listening on 127.0.0.1. For tests that need routes or a scheme the standard
 * harness does not give.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps, type Services } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createTestDatabase } from './database.ts';
import { TEST_MASTER_KEY } from './test-keys.ts';

export interface CustomApp {
  url: string;
  port: number;
  app: FastifyInstance;
  services: Services;
  config: Config;
  close(): Promise<void>;
}

export async function startCustomApp(
  options: { env?: Record<string, string>; config?: Partial<Config>; deps?: Partial<Omit<AppDeps, 'config' | 'database'>>; routes?: (app: FastifyInstance) => void } = {},
): Promise<CustomApp> {
  const testDb = await createTestDatabase();
  const config: Config = { ...loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: '/nonexistent', PALISADE_MASTER_KEY: TEST_MASTER_KEY, ...options.env }), ...options.config };
  const { app, services } = await buildApp({ config, database: testDb.database, ...options.deps });
  options.routes?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `${config.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    app,
    services,
    config,
    async close() {
      await app.close();
      await testDb.drop();
    },
  };
}
