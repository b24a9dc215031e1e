/**
 * `npm run bench`: every benchmark, each comparing against its baseline measured in the same
 * run, written to bench/results.json. Benchmarks never fail on a timing; they report.
 * `npm run bench -- session widget` runs only the named ones.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { runApiKeyBench } from './api-keys.ts';
import { runBackupBench } from './backup.ts';
import { runEncryptionCostBench } from './encryption-cost.ts';
import { runRetrievalBench } from './retrieval.ts';
import { runSessionAuthBench } from './session-auth.ts';
import { runWidgetPathBench } from './widget-path.ts';
import { calibrate } from './lib/calibrate.ts';

/**
 * A micro-benchmark in a fresh process of its own: run after the load tests in this one, it
 * measured on a heap and JIT state they left behind (the wrapper's round trip 0.84 of raw, 1.01
 * alone). The script prints its result as the last JSON object of its output.
 */
async function inOwnProcess(script: string): Promise<unknown> {
  const output = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(output.slice(output.indexOf('\n{') + 1));
}

const benches: Record<string, () => Promise<unknown>> = {
  session: runSessionAuthBench,
  apiKeys: runApiKeyBench,
  widget: runWidgetPathBench,
  retrieval: runRetrievalBench,
  crypto: () => inOwnProcess('bench/crypto.ts'),
  encryptionCost: runEncryptionCostBench,
  backup: runBackupBench,
};

const only = process.argv.slice(2);
// A partial run (`npm run bench -- widget`) replaces only its own sections of the last results.
const previous: Record<string, unknown> = only.length && existsSync('bench/results.json') ? JSON.parse(readFileSync('bench/results.json', 'utf8')) : {};
const sectionsRanAt: Record<string, string> = { ...((previous.sectionsRanAt as Record<string, string> | undefined) ?? {}) };
const results: Record<string, unknown> = {
  ...previous,
  ranAt: new Date().toISOString(),
  machine: { loopMopsPerSecond: calibrate(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
};
for (const [name, run] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  sectionsRanAt[name] = new Date().toISOString();
  try {
    results[name] = await run();
  } catch (error) {
    results[name] = { error: error instanceof Error ? error.message : String(error) };
  }
  console.log(JSON.stringify(results[name], null, 2));
}
results.sectionsRanAt = sectionsRanAt;
writeFileSync('bench/results.json', JSON.stringify(results, null, 2) + '\n');
console.log('\nWrote bench/results.json');
