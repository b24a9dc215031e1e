/**
 * Issues 3 and 5: the widget message path (origin check, visitor token, rate limits, PII scan,
 * encrypted persistence, retrieval, extractive answer over a 1,000-document knowledge base)
 * against a bare Fastify JSON echo, and the same path with a pass-through cipher (the cost of
 * encryption), on PGlite and PostgreSQL, at 10 concurrent visitors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { load, ratio, type LoadResult } from './lib/load.ts';
import { startProcess, tempPostgres } from './lib/processes.ts';

interface Ready {
  url: string;
  projectId: string;
  token: string;
  origin: string;
}

async function startWidgetServer(env: Record<string, string>): Promise<{ ready: Ready; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/palisade-widget.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('widget bench server did not start')), 180_000);
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Ready);
      }
    });
    child.on('exit', (code) => reject(new Error(`widget bench server exited (${code})`)));
  });
  return {
    ready,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

// Visitors' questions: most match a document directly, some only by their more common words.
const questions = [
  'How do I rotate webhooks?',
  'How can I enable encryption?',
  'Where do I configure billing?',
  'How do I restore exports?',
  'Can I audit the widget?',
  'How do I migrate regions?',
  'What if security fails?',
  'How do I rotate api keys when webhooks fail?',
];

function messageLoad(ready: Ready) {
  return {
    url: `${ready.url}/v1/widget/${ready.projectId}/messages`,
    method: 'POST' as const,
    connections: 10,
    headers: { origin: ready.origin, authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
    bodies: questions.map((content) => JSON.stringify({ content })),
  };
}

// Encrypted and plaintext servers run side by side and are measured in alternating short rounds,
// each keeping its best: a burst of someone else's work on this shared machine then lands on
// one round, not on one side of the comparison.
const ROUNDS = 3;
const ROUND_SECONDS = 3;

async function backend(envFor: (variant: 'encrypted' | 'plaintext') => Record<string, string>) {
  const encryptedServer = await startWidgetServer({ ...envFor('encrypted'), PLAINTEXT: '0' });
  const plaintextServer = await startWidgetServer({ ...envFor('plaintext'), PLAINTEXT: '1' });
  try {
    const loads = { encrypted: messageLoad(encryptedServer.ready), plaintext: messageLoad(plaintextServer.ready) };
    for (const options of Object.values(loads)) await load({ ...options, durationSeconds: 1 });
    const best: Partial<Record<keyof typeof loads, LoadResult>> = {};
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, options] of Object.entries(loads) as [keyof typeof loads, ReturnType<typeof messageLoad>][]) {
        const result = await load({ ...options, durationSeconds: ROUND_SECONDS });
        if (!best[name] || result.requestsPerSecond > best[name].requestsPerSecond) best[name] = result;
      }
    }
    const encrypted = best.encrypted as LoadResult;
    const plaintext = best.plaintext as LoadResult;
    return { encrypted, plaintext, encryptionCost: Math.round((1 - encrypted.requestsPerSecond / plaintext.requestsPerSecond) * 1000) / 1000 };
  } finally {
    await encryptedServer.stop();
    await plaintextServer.stop();
  }
}

export async function runWidgetPathBench(): Promise<Record<string, unknown>> {
  const bareServer = await startProcess(['bench/servers/bare.ts'], {});
  const echo = { url: `${bareServer.url}/echo`, method: 'POST' as const, connections: 10, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'How do I rotate api keys when webhooks fail?' }) };
  await load({ ...echo, durationSeconds: 1 });
  const bare = await load({ ...echo, durationSeconds: 4 });
  await bareServer.stop();

  const results: Record<string, unknown> = { connections: 10, runs: `best of ${ROUNDS} alternating ${ROUND_SECONDS}-second rounds`, bareEcho: bare };
  const dir = mkdtempSync(join(tmpdir(), 'palisade-widget-bench-'));
  try {
    const measured = await backend((variant) => ({ DATA_DIR: join(dir, variant), DATABASE_URL: '', REDIS_URL: '' }));
    results.pglite = { ...measured, ratioToBareEcho: ratio(measured.encrypted.requestsPerSecond, bare.requestsPerSecond) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = await tempPostgres();
  if (pg) {
    try {
      const measured = await backend(() => ({ DATABASE_URL: pg.url, REDIS_URL: '' }));
      results.postgres = { ...measured, ratioToBareEcho: ratio(measured.encrypted.requestsPerSecond, bare.requestsPerSecond) };
    } finally {
      await pg.drop();
    }
  } else results.postgres = 'skipped: no PostgreSQL reachable';
  results.targets = { ratioToBareEcho: 1 / 25, p99Ms: 50, encryptionCostAtMost: 0.05 };
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runWidgetPathBench(), null, 2));
}
