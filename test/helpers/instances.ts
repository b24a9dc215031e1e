/**
 * Two Palisade instances on one PostgreSQL database and one Redis: A runs in the test process
 * (so tests can reach its services), B is a separate server process (test/helpers/instance-process.ts).
 * Needs PALISADE_TEST_BACKEND=postgres, DATABASE_URL and REDIS_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp, type Services } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createRedis } from '../../src/platform/cache/redis.ts';
import { Client } from './harness.ts';
import { createTestDatabase, testBackend } from './database.ts';
import { TEST_MASTER_KEY } from './test-keys.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const multiInstanceSkip: string | false =
  testBackend() === 'postgres' && process.env.REDIS_URL ? false : 'needs PALISADE_TEST_BACKEND=postgres, DATABASE_URL and REDIS_URL';

export interface TwoInstances {
  a: { url: string; app: FastifyInstance; services: Services; client(): Client };
  b: { url: string; process: ChildProcess; client(): Client };
  close(): Promise<void>;
}

export async function startTwoInstances(env: Record<string, string> = {}): Promise<TwoInstances> {
  const redisUrl = process.env.REDIS_URL ?? '';
  const testDb = await createTestDatabase();
  const dbUrl = testDb.url ?? '';
  const shared = { DATABASE_URL: dbUrl, REDIS_URL: redisUrl, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: '/nonexistent', PALISADE_MASTER_KEY: TEST_MASTER_KEY, ...env };

  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/helpers/instance-process.ts')], {
    cwd: root,
    env: { ...process.env, ...shared },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const bUrl = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    lines.on('line', (line) => {
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        /* not our line */
      }
    });
    child.once('exit', (code) => reject(new Error(`instance B exited with ${code}`)));
  });

  const redis = createRedis(redisUrl, { connectionName: 'palisade-test-a' });
  const config = loadConfig(shared);
  const { app, services } = await buildApp({ config, database: testDb.database, redis });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const aUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const b = await bUrl;

  return {
    a: { url: aUrl, app, services, client: () => new Client(aUrl) },
    b: { url: b, process: child, client: () => new Client(b) },
    async close() {
      const exited = child.exitCode === null ? once(child, 'exit') : Promise.resolve();
      child.stdin?.end();
      await exited;
      await app.close();
      await redis.quit();
      await testDb.drop();
    },
  };
}
