/**
 * Issue 5: what encryption at rest costs the widget message path. The same prepared server runs
 * side by side with real AES-256-GCM envelope encryption and with a pass-through cipher (same
 * path, no AES), on PGlite and on PostgreSQL (a database each), plus a second encrypted server
 * as an A/A control: the spread between two identical servers is the noise floor of the method.
 *
 * Servers are warmed up first (their cost per message falls for ~20 s as V8 optimises and the
 * databases' caches fill; measuring earlier mixes warm-up into the comparison), then measured in
 * alternating rounds, the order rotating each round. Per round: messages per second and the
 * server's CPU time per message (from /proc: user + system, all threads). The figures are the
 * medians of the rounds' encrypted/plaintext ratios, so a slow spell of the shared machine lands
 * on one round's pair, not on one side. On PostgreSQL only the Node process's CPU is counted —
 * where all encryption happens — so the CPU figure overstates the cost there; the throughput
 * figure is the one the target names.
 *
 * The comparison can be off by a few per cent on a shared machine, so the control server also
 * measures encryption directly: it adds up the CPU time spent inside the cipher (see
 * lib/cipher-timing.ts) and reports it as a share of its own CPU time over the same rounds. That
 * share bounds what encryption costs the path (the timing itself is counted in it, so it errs
 * high). The timing is on the control, not on the measured encrypted server, so it does not
 * weigh on the comparison; the A/A figure then includes its overhead (a getrusage call on each
 * side of every cipher call), so it errs high as a noise floor too. On PostgreSQL it is given twice: of the Node process's CPU alone, and of that plus the
 * database server's CPU over the same rounds — the path's whole cost. Target: at most 5 %.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from './lib/load.ts';
import { tempPostgres } from './lib/processes.ts';
import { messageLoad, startWidgetServer, type WidgetServer } from './lib/widget-server.ts';

const WARM_UP_ROUNDS = 5;
const ROUNDS = 10;
const ROUND_SECONDS = 2;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

interface Round {
  messagesPerSecond: number;
  cpuMicrosPerMessage: number;
}

interface CipherStats {
  cpuMicros: number;
  cipherMicros: number;
  cipherCalls: number;
}

const cipherStats = async (server: WidgetServer): Promise<CipherStats> => (await (await fetch(server.ready.statsUrl)).json()) as CipherStats;

/**
 * CPU time of every PostgreSQL process on this machine, in microseconds (clock ticks of 10 ms):
 * during a round only the measured server's database is busy, so the difference over a round is
 * that server's database work, which the share below adds to the server's own.
 */
function postgresCpuMicros(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we read.
    }
  }
  return ticks * 10_000;
}

/**
 * Each round's visitors come from their own address (behind a trusted proxy hop), as a real
 * widget's do: 15 rounds from one address would pass the per-IP limit (at most 10,000 messages a
 * minute per project) on a fast machine and measure 429s instead of the message path.
 */
async function measure(server: WidgetServer, round: number): Promise<Round> {
  const before = server.cpuMicros();
  const visitors = messageLoad(server.ready);
  const headers = { ...visitors.headers, 'x-forwarded-for': `198.51.100.${(round % 250) + 1}` };
  const result = await load({ ...visitors, headers, durationSeconds: ROUND_SECONDS });
  const messages = result.requestsPerSecond * ROUND_SECONDS;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`message path failed: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { messagesPerSecond: result.requestsPerSecond, cpuMicrosPerMessage: (server.cpuMicros() - before) / Math.max(1, messages) };
}

const VARIANTS = ['encrypted', 'plaintext', 'control'] as const;
type Variant = (typeof VARIANTS)[number];

/** `env(variant)` gives each server its own storage; `control` is a second encrypted server. */
async function compare(env: (variant: Variant) => Record<string, string>, countDatabaseCpu: boolean) {
  const servers = {} as Record<Variant, WidgetServer>;
  try {
    // Started together (each fills its 1,000-document knowledge base); any that failed is reported.
    const started = await Promise.allSettled(VARIANTS.map((variant) => startWidgetServer({ ...env(variant), TRUST_PROXY: '1', PLAINTEXT: variant === 'plaintext' ? '1' : '0', CIPHER_TIMING: variant === 'control' ? '1' : '0' })));
    started.forEach((result, i) => {
      if (result.status === 'fulfilled') servers[VARIANTS[i] as Variant] = result.value;
    });
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const rounds: Record<Variant, Round>[] = [];
    const attributed = { cpuMicros: 0, databaseCpuMicros: 0, cipherMicros: 0, cipherCalls: 0, messages: 0 };
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round += 1) {
      const got = {} as Record<Variant, Round>;
      // Rotate the order, so no variant always follows another's leftovers.
      for (let i = 0; i < VARIANTS.length; i += 1) {
        const variant = VARIANTS[(round + i) % VARIANTS.length] as Variant;
        const before = variant === 'control' ? await cipherStats(servers[variant]) : undefined;
        const databaseBefore = countDatabaseCpu ? postgresCpuMicros() : 0;
        got[variant] = await measure(servers[variant], round);
        if (before && round >= WARM_UP_ROUNDS) {
          const after = await cipherStats(servers[variant]);
          if (countDatabaseCpu) attributed.databaseCpuMicros += postgresCpuMicros() - databaseBefore;
          attributed.cpuMicros += after.cpuMicros - before.cpuMicros;
          attributed.cipherMicros += after.cipherMicros - before.cipherMicros;
          attributed.cipherCalls += after.cipherCalls - before.cipherCalls;
          attributed.messages += got[variant].messagesPerSecond * ROUND_SECONDS;
        }
      }
      if (round >= WARM_UP_ROUNDS) rounds.push(got);
    }
    const ratios = (a: Variant, b: Variant, of: keyof Round) => rounds.map((r) => r[a][of] / r[b][of]);
    const cost = (a: Variant, b: Variant) => {
      const cpu = ratios(a, b, 'cpuMicrosPerMessage');
      const throughput = ratios(a, b, 'messagesPerSecond');
      return {
        byThroughput: round3(1 - median(throughput)),
        byCpu: round3(median(cpu) - 1),
        throughputRatioRange: [round3(Math.min(...throughput)), round3(Math.max(...throughput))],
        cpuRatioRange: [round3(Math.min(...cpu)), round3(Math.max(...cpu))],
      };
    };
    const medianOf = (variant: Variant, of: keyof Round) => Math.round(median(rounds.map((r) => r[variant][of])));
    return {
      messagesPerSecond: { encrypted: medianOf('encrypted', 'messagesPerSecond'), plaintext: medianOf('plaintext', 'messagesPerSecond') },
      cpuMicrosPerMessage: { encrypted: medianOf('encrypted', 'cpuMicrosPerMessage'), plaintext: medianOf('plaintext', 'cpuMicrosPerMessage') },
      cost: cost('encrypted', 'plaintext'),
      // Two encrypted servers (the control also timing its cipher): how far apart the method puts
      // servers that do not differ, plus the timing's own overhead.
      aaControl: cost('control', 'encrypted'),
      // The control's own account: CPU time inside the cipher over its CPU time, all rounds.
      cipherShareOfServerCpu: {
        share: round3(attributed.cipherMicros / Math.max(1, attributed.cpuMicros)),
        ...(countDatabaseCpu && {
          shareWithDatabaseCpu: round3(attributed.cipherMicros / Math.max(1, attributed.cpuMicros + attributed.databaseCpuMicros)),
          databaseCpuMicrosPerMessage: Math.round(attributed.databaseCpuMicros / Math.max(1, attributed.messages)),
        }),
        cipherMicrosPerMessage: round3(attributed.cipherMicros / Math.max(1, attributed.messages)),
        cipherCallsPerMessage: round3(attributed.cipherCalls / Math.max(1, attributed.messages)),
        serverCpuMicrosPerMessage: Math.round(attributed.cpuMicros / Math.max(1, attributed.messages)),
      },
    };
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
}

export async function runEncryptionCostBench(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {
    connections: 10,
    runs: `${WARM_UP_ROUNDS} warm-up rounds, then ${ROUNDS} rounds of ${ROUND_SECONDS} s per server in rotating order; medians of the rounds' ratios`,
  };
  const dir = mkdtempSync(join(tmpdir(), 'palisade-encryption-cost-'));
  try {
    results.pglite = await compare((variant) => ({ DATA_DIR: join(dir, variant), DATABASE_URL: '', REDIS_URL: '' }), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A database each: two servers sharing one measured each other's rows and autovacuum too
  // (an A/A run of two plaintext servers on one database differed by 8 %).
  const databases: Partial<Record<Variant, { url: string; drop(): Promise<void> }>> = {};
  try {
    for (const variant of VARIANTS) databases[variant] = await tempPostgres();
    const urls = VARIANTS.map((variant) => databases[variant]?.url);
    results.postgres = urls.every((url) => url !== undefined)
      ? await compare((variant) => ({ DATABASE_URL: databases[variant]?.url ?? '', REDIS_URL: '' }), true)
      : 'skipped: no PostgreSQL reachable';
  } finally {
    for (const database of Object.values(databases)) await database?.drop();
  }
  results.target = { costAtMost: 0.05 };
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runEncryptionCostBench(), null, 2));
}
