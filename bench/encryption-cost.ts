/**
 * Issue 5: what encryption at rest costs the widget message path. The same prepared server runs
 * twice side by side — real AES-256-GCM envelope encryption, and a pass-through cipher (same
 * path, no AES) — on PGlite and on PostgreSQL, and is measured in many short alternating rounds.
 *
 * Two figures: the server's CPU time per message (read from /proc; on a CPU-bound server it is
 * what throughput is the inverse of, and it is far steadier on a shared machine than req/s), as
 * the median of each round's encrypted/plaintext ratio; and messages per second, best round of
 * each. On PostgreSQL only the Node process is counted — where all encryption happens — so the
 * relative cost is overstated there, never understated. Target: at most 5 %.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from './lib/load.ts';
import { tempPostgres } from './lib/processes.ts';
import { messageLoad, startWidgetServer, type WidgetServer } from './lib/widget-server.ts';

const ROUNDS = 8;
const ROUND_SECONDS = 2;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

async function measure(server: WidgetServer): Promise<{ messagesPerSecond: number; cpuMicrosPerMessage: number }> {
  const before = server.cpuMicros();
  const result = await load({ ...messageLoad(server.ready), durationSeconds: ROUND_SECONDS });
  const messages = result.requestsPerSecond * ROUND_SECONDS;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`message path failed: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { messagesPerSecond: result.requestsPerSecond, cpuMicrosPerMessage: (server.cpuMicros() - before) / Math.max(1, messages) };
}

async function compare(env: (variant: string) => Record<string, string>) {
  const encrypted = await startWidgetServer({ ...env('encrypted'), PLAINTEXT: '0' });
  const plaintext = await startWidgetServer({ ...env('plaintext'), PLAINTEXT: '1' });
  try {
    for (const server of [encrypted, plaintext]) await load({ ...messageLoad(server.ready), durationSeconds: 1 });
    const cpuRatios: number[] = [];
    const best = { encrypted: 0, plaintext: 0 };
    const cpu = { encrypted: [] as number[], plaintext: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate which goes first, so neither always follows the other's leftovers.
      const order = round % 2 === 0 ? (['encrypted', 'plaintext'] as const) : (['plaintext', 'encrypted'] as const);
      const got: Partial<Record<'encrypted' | 'plaintext', { messagesPerSecond: number; cpuMicrosPerMessage: number }>> = {};
      for (const name of order) got[name] = await measure(name === 'encrypted' ? encrypted : plaintext);
      const e = got.encrypted as { messagesPerSecond: number; cpuMicrosPerMessage: number };
      const p = got.plaintext as { messagesPerSecond: number; cpuMicrosPerMessage: number };
      cpuRatios.push(e.cpuMicrosPerMessage / p.cpuMicrosPerMessage);
      cpu.encrypted.push(e.cpuMicrosPerMessage);
      cpu.plaintext.push(p.cpuMicrosPerMessage);
      best.encrypted = Math.max(best.encrypted, e.messagesPerSecond);
      best.plaintext = Math.max(best.plaintext, p.messagesPerSecond);
    }
    return {
      cpuMicrosPerMessage: { encrypted: Math.round(median(cpu.encrypted)), plaintext: Math.round(median(cpu.plaintext)) },
      costByCpu: round3(1 - 1 / median(cpuRatios)),
      cpuRatioRange: [round3(Math.min(...cpuRatios)), round3(Math.max(...cpuRatios))],
      messagesPerSecond: best,
      costByThroughput: round3(1 - best.encrypted / best.plaintext),
    };
  } finally {
    await encrypted.stop();
    await plaintext.stop();
  }
}

export async function runEncryptionCostBench(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = { connections: 10, runs: `${ROUNDS} alternating ${ROUND_SECONDS}-second rounds; CPU figure: median of per-round ratios` };
  const dir = mkdtempSync(join(tmpdir(), 'palisade-encryption-cost-'));
  try {
    results.pglite = await compare((variant) => ({ DATA_DIR: join(dir, variant), DATABASE_URL: '', REDIS_URL: '' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A database each: two servers sharing one measured each other's rows and autovacuum too
  // (an A/A run of two plaintext servers on one database differed by 8 %).
  const pgs = { encrypted: await tempPostgres(), plaintext: await tempPostgres() };
  if (pgs.encrypted && pgs.plaintext) {
    const urls = { encrypted: pgs.encrypted.url, plaintext: pgs.plaintext.url };
    try {
      results.postgres = await compare((variant) => ({ DATABASE_URL: urls[variant as keyof typeof urls], REDIS_URL: '' }));
    } finally {
      await pgs.encrypted.drop();
      await pgs.plaintext.drop();
    }
  } else {
    await pgs.encrypted?.drop();
    await pgs.plaintext?.drop();
    results.postgres = 'skipped: no PostgreSQL reachable';
  }
  results.target = { costAtMost: 0.05 };
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runEncryptionCostBench(), null, 2));
}
