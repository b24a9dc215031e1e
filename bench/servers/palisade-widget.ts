/**
 * A Palisade server prepared for the widget message-path benchmark: one project on an allowed
 * origin, limits raised out of the way, a 1,000-document knowledge base, and a visitor token.
 * With PLAINTEXT=1 it injects a pass-through cipher (same path, no AES-GCM): the baseline of
 * the encryption-cost measurement; with CIPHER_TIMING=1 it encrypts for real and adds up the time
 * spent in the cipher, served with the process's CPU time on a second port (`statsUrl`). Prints
 * one JSON line when ready.
 */
import { createServer } from 'node:http';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/platform/db/driver.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { createCrypto } from '../../src/platform/crypto/setup.ts';
import type { Cipher } from '../../src/platform/crypto/envelope.ts';
import { timedCipher } from '../lib/cipher-timing.ts';

// The organisation ceiling raised too: a fast machine sends more than its default 20,000 an hour.
const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ORG_MESSAGES_PER_HOUR: '1000000000', PALISADE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
await migrate(database.db);
const real = await createCrypto({ db: database.db, config, log: { warn: () => undefined, info: () => undefined }, clock: { now: () => new Date() } });
const passThrough: Cipher = {
  ...real.cipher,
  sealer: async () => (plaintext) => `plain.${Buffer.from(plaintext).toString('base64')}`,
  encrypt: async (plaintext) => `plain.${Buffer.from(plaintext).toString('base64')}`,
  decrypt: async (ciphertext) => Buffer.from(ciphertext.slice(6), 'base64').toString('utf8'),
};
const timing = process.env.CIPHER_TIMING === '1' ? timedCipher(real.cipher) : undefined;
const crypto = process.env.PLAINTEXT === '1' ? { ...real, cipher: passThrough } : timing ? { ...real, cipher: timing.cipher } : real;
const { app, services } = await buildApp({ config, database, crypto });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

const { user, org } = await services.accounts.signup({ email: `bench-${Date.now()}@example.test`, password: 'violet-harbour-quantum-47', orgName: 'Bench' }, { ip: '127.0.0.1', userAgent: 'bench' }, { operator: true });
const actor = { principal: { kind: 'user' as const, userId: user.id, sessionId: '', email: user.email }, ip: null };
const project = await services.projects.create(
  org.id,
  { name: 'Bench bot', settings: { allowedDomains: ['bench.example.com'], rateLimits: { perIpPerMinute: 10_000, perSessionPerHour: 100_000, messagesPerHour: 1_000_000 } } },
  actor,
);
const topics = ['installation', 'billing', 'security', 'webhooks', 'rate limits', 'widget', 'api keys', 'encryption', 'exports', 'regions'];
const verbs = ['configure', 'rotate', 'enable', 'disable', 'inspect', 'audit', 'restore', 'migrate'];
for (let i = 0; i < 1000; i++) {
  const topic = topics[i % topics.length] ?? 'misc';
  const verb = verbs[i % verbs.length] ?? 'use';
  await services.knowledge.addDocument(
    org.id,
    project.id,
    {
      title: `${topic} guide ${i}`,
      contentType: 'markdown',
      content: `# How to ${verb} ${topic} (${i})\n\nTo ${verb} ${topic}, open the project settings and choose ${topic}. Changes apply at once on every instance. Document ${i} explains step ${i % 7} in detail, with examples for teams of every size.\n\nIf ${topic} fails, check the audit log and retry after the limit resets.`,
    },
    { principal: { kind: 'system' }, ip: null },
  );
}
const origin = 'https://bench.example.com';
const session = await fetch(`${url}/v1/widget/${project.id}/sessions`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{}' });
const { token } = (await session.json()) as { token: string };
// CPU time of the whole process (all threads) and the cipher's share of it, in microseconds.
const stats = createServer((_request, response) => {
  const cpu = process.cpuUsage();
  response.end(JSON.stringify({ cpuMicros: cpu.user + cpu.system, cipherMicros: timing?.totals().micros ?? 0, cipherCalls: timing?.totals().calls ?? 0 }));
});
await new Promise<void>((resolve) => stats.listen(0, '127.0.0.1', resolve));
const statsAddress = stats.address();
const statsUrl = `http://127.0.0.1:${typeof statsAddress === 'object' && statsAddress ? statsAddress.port : 0}`;
console.log(JSON.stringify({ ready: true, url, statsUrl, projectId: project.id, token, origin }));
process.on('SIGTERM', () => {
  stats.close();
  app.close().then(() => database.close()).then(() => process.exit(0));
});
