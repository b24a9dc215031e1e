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

async function measurePath(env: Record<string, string>): Promise<LoadResult> {
  const server = await startWidgetServer(env);
  try {
    const { url, projectId, token, origin } = server.ready;
    const options = {
      url: `${url}/v1/widget/${projectId}/messages`,
      method: 'POST' as const,
      connections: 10,
      headers: { origin, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      bodies: questions.map((content) => JSON.stringify({ content })),
    };
    await load({ ...options, durationSeconds: 1 });
    return await load({ ...options, durationSeconds: 4 });
  } finally {
    await server.stop();
  }
}

async function backend(env: Record<string, string>, bare: LoadResult) {
  const encrypted = await measurePath({ ...env, PLAINTEXT: '0' });
  const plaintext = await measurePath({ ...env, PLAINTEXT: '1' });
  return {
    encrypted,
    plaintext,
    ratioToBareEcho: ratio(encrypted.requestsPerSecond, bare.requestsPerSecond),
    encryptionCost: Math.round((1 - encrypted.requestsPerSecond / plaintext.requestsPerSecond) * 1000) / 1000,
  };
}

export async function runWidgetPathBench(): Promise<Record<string, unknown>> {
  const bareServer = await startProcess(['bench/servers/bare.ts'], {});
  const echo = { url: `${bareServer.url}/echo`, method: 'POST' as const, connections: 10, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'How do I rotate api keys when webhooks fail?' }) };
  await load({ ...echo, durationSeconds: 1 });
  const bare = await load({ ...echo, durationSeconds: 4 });
  await bareServer.stop();

  const results: Record<string, unknown> = { connections: 10, bareEcho: bare };
  const dir = mkdtempSync(join(tmpdir(), 'palisade-widget-bench-'));
  try {
    results.pglite = await backend({ DATA_DIR: dir, DATABASE_URL: '', REDIS_URL: '' }, bare);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = await tempPostgres();
  if (pg) {
    try {
      results.postgres = await backend({ DATABASE_URL: pg.url, REDIS_URL: '' }, bare);
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
