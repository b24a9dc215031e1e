/**
 * Issue 4: a Bearer-authenticated, rate-limited route (GET /v1/api-keys/current: key parse,
 * checksum, cached metadata, constant-time hash compare, per-key rate limit with RateLimit-*
 * headers, usage counting) against the bare Fastify route, with the memory and the Redis
 * rate-limit backend, in one run. Servers run in their own processes; 50 connections.
 * Targets: ≥ 60 % of bare req/s (memory), ≥ 30 % (Redis), p99 < 5 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, ratio, type LoadResult } from './lib/load.ts';
import { startProcess } from './lib/processes.ts';

const connections = 50;
const durationSeconds = 5;

async function bearerSecret(url: string): Promise<string> {
  const signup = await fetch(`${url}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${Date.now()}@example.test`, password: 'violet-harbour-quantum-47', orgName: 'Bench' }),
  });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`);
  const { org, csrfToken } = (await signup.json()) as { org: { id: string }; csrfToken: string };
  const cookie = (signup.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
  const created = await fetch(`${url}/v1/orgs/${org.id}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'bench', scopes: ['projects:read'] }),
  });
  if (created.status !== 201) throw new Error(`key creation failed: ${created.status}`);
  return ((await created.json()) as { secret: string }).secret;
}

async function measure(env: Record<string, string>, bare: LoadResult): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-bench-keys-'));
  // A limit far above what the run can reach, so every request takes the admitted path.
  const server = await startProcess(['src/main.ts', 'serve', '--no-demo'], {
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: '',
    API_KEY_REQUESTS_PER_MINUTE: '1000000000',
    MAX_CONNECTIONS_PER_IP: '0',
    ...env,
  });
  try {
    const secret = await bearerSecret(server.url);
    const options = { url: `${server.url}/v1/api-keys/current`, headers: { authorization: `Bearer ${secret}` }, connections };
    await load({ ...options, durationSeconds: 2 }); // warm-up
    const result = await load({ ...options, durationSeconds });
    // The same server's cheapest route (no auth, no limit): separates the platform's own cost
    // (helmet headers, request ids, hooks) from the key check itself.
    const healthz = await load({ url: `${server.url}/healthz`, connections, durationSeconds: 3 });
    return {
      bearer: result,
      ratio: ratio(result.requestsPerSecond, bare.requestsPerSecond),
      p99UnderTarget: result.p99Ms < 5,
      sameServerHealthz: healthz,
      ratioToSameServerHealthz: ratio(result.requestsPerSecond, healthz.requestsPerSecond),
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runApiKeyBench(): Promise<Record<string, unknown>> {
  const bareServer = await startProcess(['bench/servers/bare.ts'], {});
  let bare: LoadResult;
  try {
    await load({ url: `${bareServer.url}/v1/me`, connections, durationSeconds: 2 });
    bare = await load({ url: `${bareServer.url}/v1/me`, connections, durationSeconds });
  } finally {
    await bareServer.stop();
  }
  const results: Record<string, unknown> = { connections, durationSeconds, bare };
  results.memory = await measure({ REDIS_URL: '' }, bare);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  try {
    results.redis = await measure({ REDIS_URL: redisUrl }, bare);
  } catch (error) {
    results.redis = `skipped: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`;
  }
  results.targets = { memoryRatio: 0.6, redisRatio: 0.3, p99Ms: 5 };
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runApiKeyBench(), null, 2));
}
