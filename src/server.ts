/**
 * Starting and stopping the platform: open the database, migrate, build the app, listen, and
 * shut down gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close
 * the database and Redis).
 */
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApp, type Services } from './app.ts';
import { publicUrlWarning, type Config } from './config.ts';
import { createRedis, waitForRedis } from './platform/cache/redis.ts';
import { openDatabase, type Database } from './platform/db/driver.ts';
import { migrate, sharedRoleWarning } from './platform/db/migrate.ts';

export interface Running {
  app: FastifyInstance;
  services: Services;
  database: Database;
  url: string;
  close(): Promise<void>;
}

export async function openStorage(config: Config): Promise<{ database: Database; redis: Redis | undefined }> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const redis = config.redisUrl ? createRedis(config.redisUrl, { connectionName: 'palisade-app' }) : undefined;
  return { database, redis };
}

export async function startServer(config: Config, options: { database?: Database; redis?: Redis } = {}): Promise<Running> {
  const ownStorage = !options.database;
  const { database, redis } = options.database ? { database: options.database, redis: options.redis } : await openStorage(config);
  let app: FastifyInstance | undefined;
  let services: Services;
  try {
    // Rate limits count in per-instance memory while Redis is not connected: serve only once it is.
    if (redis) await waitForRedis(redis);
    await migrate(database.db);
    ({ app, services } = await buildApp({ config, database, redis }));
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // A failed start (a port in use, Redis unreachable) releases what it opened, the data directory's lock included.
    await app?.close().catch(() => undefined);
    if (ownStorage) {
      redis?.disconnect();
      await database.close().catch(() => undefined);
    }
    throw error;
  }
  for (const warning of [publicUrlWarning(config), config.databaseUrl ? await sharedRoleWarning(database.db) : undefined]) {
    if (warning) app.log.warn(warning);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `${config.tls ? 'https' : 'http'}://${isIP(config.host) === 6 ? `[${config.host}]` : config.host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await app.close();
      await redis?.quit().catch(() => undefined);
      await database.close();
    })());
  return { app, services, database, url, close };
}

export function closeOnSignals(running: { close(): Promise<void> }, log: (msg: string) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log(`${signal} received: finishing in-flight requests, then stopping.`);
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
