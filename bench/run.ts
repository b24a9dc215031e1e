/**
 * `npm run bench`: every benchmark, each comparing against its baseline measured in the same
 * run, written to bench/results.json. Benchmarks never fail on a timing; they report.
 * `npm run bench -- session widget` runs only the named ones.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { runApiKeyBench } from './api-keys.ts';
import { runBackupBench } from './backup.ts';
import { runCryptoBench } from './crypto.ts';
import { runRetrievalBench } from './retrieval.ts';
import { runSessionAuthBench } from './session-auth.ts';
import { runWidgetPathBench } from './widget-path.ts';

const benches: Record<string, () => Promise<unknown>> = {
  session: runSessionAuthBench,
  apiKeys: runApiKeyBench,
  widget: runWidgetPathBench,
  retrieval: runRetrievalBench,
  crypto: runCryptoBench,
  backup: runBackupBench,
};

const only = process.argv.slice(2);
const results: Record<string, unknown> = {
  ranAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
};
for (const [name, run] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  try {
    results[name] = await run();
  } catch (error) {
    results[name] = { error: error instanceof Error ? error.message : String(error) };
  }
  console.log(JSON.stringify(results[name], null, 2));
}
writeFileSync('bench/results.json', JSON.stringify(results, null, 2) + '\n');
console.log('\nWrote bench/results.json');
