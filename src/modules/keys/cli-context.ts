/**
 * What a one-shot key or backup command needs: the migrated database, the crypto layer built
 * from the same configuration as the server, and a way to tell running instances (over Redis,
 * when configured) to drop cached keys. Owns opening and closing these; must never print a key.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import { createInvalidationBus } from '../../platform/cache/invalidation.ts';
import { createRedisPubSub } from '../../platform/cache/pubsub.ts';
import { KEY_EVICTION_TOPIC } from '../../platform/crypto/service.ts';
import { createCrypto, type Crypto } from '../../platform/crypto/setup.ts';
import type { CryptoLogger, Scope } from '../../platform/crypto/types.ts';
import type { Database } from '../../platform/db/driver.ts';
import { migrate } from '../../platform/db/migrate.ts';

export type OpenStorage = (config: Config) => Promise<{ database: Database; redis: Redis | undefined }>;

export interface CliContext {
  config: Config;
  database: Database;
  crypto: Crypto;
  announce(scopes: Scope[]): Promise<void>;
  close(): Promise<void>;
}

export const cliLog: CryptoLogger = {
  warn: (message) => console.error(message),
  info: (message) => console.error(message),
};

/**
 * Tells every running instance, through Redis, to drop its cached keys of these scopes, and waits
 * until the message went round. The bus must be started to send anything: unstarted, it only
 * tells its own process (the command's), which is how rotations once reached no server at all.
 */
export async function announceKeyEviction(redisUrl: string, scopes: Scope[]): Promise<void> {
  if (scopes.length === 0) return;
  const pubsub = createRedisPubSub(redisUrl);
  const bus = createInvalidationBus(pubsub, {
    onMissedEcho: () => cliLog.warn('Redis did not confirm that running servers were told within 2 s: they pick the change up when their key caches expire (the current key version within 30 s).'),
  });
  try {
    await bus.start();
    await bus.publish(KEY_EVICTION_TOPIC, scopes);
  } finally {
    await bus.stop();
    await pubsub.close();
  }
}

export interface CliContextOptions {
  /** Make a master key file when none exists (default). A restore must not: the backup's key opens it. */
  createKeyFile?: boolean;
}

export async function openCliContext(config: Config, openStorage: OpenStorage, options: CliContextOptions = {}): Promise<CliContext> {
  const { database, redis } = await openStorage(config);
  try {
    await migrate(database.db);
    const crypto = await createCrypto({ db: database.db, config, log: cliLog, ...(options.createKeyFile === false ? { createKeyFile: false } : {}) });
    return {
      config,
      database,
      crypto,
      async announce(scopes) {
        if (config.redisUrl !== undefined) await announceKeyEviction(config.redisUrl, scopes);
      },
      async close() {
        await redis?.quit().catch(() => undefined);
        await database.close();
      },
    };
  } catch (error) {
    await redis?.quit().catch(() => undefined);
    await database.close();
    throw error;
  }
}

/** Runs a command body with a context and always closes it; errors become exit code 1. */
export async function withCliContext(config: Config, openStorage: OpenStorage, body: (ctx: CliContext) => Promise<void>, options: CliContextOptions = {}): Promise<void> {
  let ctx: CliContext | undefined;
  try {
    ctx = await openCliContext(config, openStorage, options);
    await body(ctx);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  } finally {
    await ctx?.close();
  }
}
