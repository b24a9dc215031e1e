/**
 * Boots the real app on a real database (PGlite, or PostgreSQL + Redis when configured) and a
 * real HTTP server on 127.0.0.1, and gives tests a small cookie-aware client.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApp, type AppDeps, type Services } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createRedis, waitForRedis } from '../../src/platform/cache/redis.ts';
import { createCipher } from '../../src/platform/crypto/envelope.ts';
import type { Keyring } from '../../src/platform/crypto/keyring.ts';
import { createCrypto } from '../../src/platform/crypto/setup.ts';
import type { Database } from '../../src/platform/db/driver.ts';
import { createTestDatabase, type Backend } from './database.ts';
import { TEST_MASTER_KEY } from './test-keys.ts';

export interface TestApp {
  url: string;
  app: FastifyInstance;
  services: Services;
  database: Database;
  backend: Backend;
  config: Config;
  client(): Client;
  close(): Promise<void>;
}

export interface TestAppOverrides extends Partial<Omit<AppDeps, 'config' | 'database'>> {
  config?: Partial<Config>;
  /** Builds the real crypto layer over a keyring the test wraps (e.g. one that never caches). */
  wrapKeyring?: (keyring: Keyring) => Keyring;
  /** Listen on this port (and make it the public URL's), for a browser that follows the server's own links. */
  port?: number;
}

export async function startTestApp(overrides: TestAppOverrides = {}): Promise<TestApp> {
  const testDb = await createTestDatabase();
  const redis: Redis | undefined =
    testDb.backend === 'postgres' && process.env.REDIS_URL ? createRedis(process.env.REDIS_URL, { connectionName: 'palisade-test' }) : undefined;
  // Up before the app counts anything (as startServer waits for it): a connection still coming up counts in memory.
  if (redis) {
    await waitForRedis(redis).catch(async (error: unknown) => {
      redis.disconnect();
      await testDb.drop();
      throw error;
    });
  }
  const config: Config = {
    // The suite's Chat Completions stubs listen on 127.0.0.1; test/answer-keys.test.ts turns this off.
    // Webhook deliveries are sent by the tests that look at them (test/webhooks.test.ts), not on a timer.
    ...loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: '/nonexistent', PALISADE_MASTER_KEY: TEST_MASTER_KEY, ANSWER_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_DELIVERY_INTERVAL_MS: '0' }),
    ...(overrides.port ? { port: overrides.port, publicUrl: `http://127.0.0.1:${overrides.port}` } : {}),
    ...overrides.config,
  };
  const { config: _c, wrapKeyring, port, ...rest } = overrides;
  if (wrapKeyring) {
    const real = await createCrypto({ db: testDb.database.db, config, log: { warn: () => undefined, info: () => undefined } });
    const keyring = wrapKeyring(real.keyring);
    rest.crypto = { ...real, keyring, cipher: createCipher({ keyring }) };
  }
  // Counters of their own in the shared Redis: earlier runs' failed logins from 127.0.0.1 must not throttle this one.
  const rateLimitPrefix = redis ? `palisade-test-${randomBytes(6).toString('hex')}:` : undefined;
  // Suites sign many users up from 127.0.0.1; test/accounts.test.ts tests the sign-up limit itself.
  const loginThrottle = { signupsPerIp: 1_000_000, ...rest.loginThrottle };
  const { app, services } = await buildApp({ config, database: testDb.database, redis, ...(rateLimitPrefix ? { rateLimitPrefix } : {}), ...rest, loginThrottle });
  await app.listen({ host: '127.0.0.1', port: port ?? 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    app,
    services,
    database: testDb.database,
    backend: testDb.backend,
    config,
    client: () => new Client(url),
    async close() {
      await app.close();
      await redis?.quit();
      await testDb.drop();
    },
  };
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A user agent with its own cookie jar; sends the CSRF token it was given on unsafe methods. */
export class Client {
  cookies = new Map<string, string>();
  csrfToken: string | undefined;
  bearer: string | undefined;

  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookies.size) h.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrfToken && !['GET', 'HEAD'].includes(method) && !('x-csrf-token' in h)) h['x-csrf-token'] = this.csrfToken;
    if (this.bearer && !('authorization' in h)) h.authorization = `Bearer ${this.bearer}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: payload ?? null, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, ...v] = (pair ?? '').split('=');
      if (!k) continue;
      if (/expires=Thu, 01 Jan 1970/i.test(c) || v.join('=') === '') this.cookies.delete(k.trim());
      else this.cookies.set(k.trim(), v.join('='));
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    const reply = { status: res.status, headers: res.headers, body: parsed as T };
    const csrf = (parsed as { csrfToken?: unknown } | undefined)?.csrfToken;
    if (typeof csrf === 'string') this.csrfToken = csrf;
    return reply;
  }

  get = <T = any>(path: string, headers?: Record<string, string>) => this.request<T>('GET', path, undefined, headers);
  post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => this.request<T>('POST', path, body ?? {}, headers);
  patch = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => this.request<T>('PATCH', path, body ?? {}, headers);
  delete = <T = any>(path: string, headers?: Record<string, string>) => this.request<T>('DELETE', path, undefined, headers);
}

export const strongPassword = 'violet-harbour-quantum-47';

/**
 * Waits until connections idle since `since` (Date.now()) are surely closed by the server (its
 * keep-alive timeout, 5 s, and a margin): a request sent just as the server closes its pooled
 * connection fails with "fetch failed". For tests that do seconds of setup between two requests.
 */
export async function pastKeepAlive(since: number, keepAliveMs = 5_000): Promise<void> {
  const wait = since + keepAliveMs + 1_500 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.test`;
}

export interface SignedUp {
  client: Client;
  userId: string;
  orgId: string;
  email: string;
}

export async function signUp(t: TestApp, orgName = 'Acme', tag = 'owner'): Promise<SignedUp> {
  const client = t.client();
  const email = uniqueEmail(tag);
  const r = await client.post('/v1/auth/signup', { email, password: strongPassword, orgName });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { client, userId: r.body.user.id, orgId: r.body.org.id, email };
}

/** A new user who is a member of `orgId` with `role`, signed in. */
/** `inviter` invites `user` into `orgId` with `role`, and the user accepts. */
export async function joinOrg(inviter: Client, orgId: string, user: { client: Client; email: string }, role: string): Promise<void> {
  const r = await inviter.post(`/v1/orgs/${orgId}/members`, { email: user.email, role });
  if (r.status !== 201) throw new Error(`invitation failed: ${r.status} ${JSON.stringify(r.body)}`);
  const token = String(r.body.invitation.link).split('#')[1];
  const accepted = await user.client.post('/v1/invitations/accept', { token });
  if (accepted.status !== 200) throw new Error(`accepting failed: ${accepted.status} ${JSON.stringify(accepted.body)}`);
}

export async function memberWithRole(t: TestApp, owner: Client, orgId: string, role: string): Promise<SignedUp> {
  const user = await signUp(t, `${role} home org`, role);
  await joinOrg(owner, orgId, user, role);
  return { ...user, orgId };
}

export async function countRows(t: TestApp, table: string): Promise<number> {
  const { sql } = await import('kysely');
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(t.database.db);
  return Number(r.rows[0]?.n ?? 0);
}
