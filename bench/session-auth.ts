/**
 * Issue 2: a session-authenticated GET /v1/me (session look-up on every request, so a
 * revocation is effective at once) against a bare Fastify route returning the same JSON,
 * side by side, on PGlite and on PostgreSQL. Also the server's resident memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, loadMedian, ratio, type LoadResult } from './lib/load.ts';
import { startProcess, tempPostgres } from './lib/processes.ts';
import { signup } from './lib/signup.ts';

async function measure(env: Record<string, string>, bareResult: LoadResult) {
  // Create and migrate the database first, the way every start after the first finds it: the
  // server's memory is then its steady state, not the one-off cost of initdb.
  const migrate = await startProcess(['src/main.ts', 'migrate'], env, /(up to date|Applied)/);
  await new Promise((resolve) => (migrate.child.exitCode !== null ? resolve(null) : migrate.child.once('exit', resolve)));
  const server = await startProcess(['src/main.ts', 'serve', '--no-demo'], { PORT: '0', ...env });
  try {
    const { cookie } = await signup(server.url);
    await load({ url: `${server.url}/v1/me`, headers: { cookie }, durationSeconds: 2 }); // warm-up
    const authed = await loadMedian({ url: `${server.url}/v1/me`, headers: { cookie }, durationSeconds: 3 });
    return { authenticated: authed, ratio: ratio(authed.requestsPerSecond, bareResult.requestsPerSecond), rssMb: server.rssMb() };
  } finally {
    await server.stop();
  }
}

export async function runSessionAuthBench(): Promise<Record<string, unknown>> {
  const bare = await startProcess(['bench/servers/bare.ts'], {});
  await load({ url: `${bare.url}/v1/me`, durationSeconds: 2 });
  const bareResult = await loadMedian({ url: `${bare.url}/v1/me`, durationSeconds: 3 });
  await bare.stop();

  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  const results: Record<string, unknown> = { connections: 10, durationSeconds: 3, runs: 'median of 3', bare: bareResult };
  try {
    results.pglite = await measure({ DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' }, bareResult);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const pgDb = await tempPostgres();
  if (pgDb) {
    try {
      results.postgres = await measure({ DATABASE_URL: pgDb.url, DATA_DIR: join(tmpdir(), 'unused'), REDIS_URL: '' }, bareResult);
    } finally {
      await pgDb.drop();
    }
  } else {
    results.postgres = 'skipped: no PostgreSQL reachable';
  }
  results.targets = { postgresRatio: 0.35, pgliteRatio: 0.2, rssMb: 500 };
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runSessionAuthBench(), null, 2));
}
