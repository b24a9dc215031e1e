/**
 * Per-recogniser time shares over ~1 KB messages built from the own corpus (and sparse prose):
 * a work-count view that is less noisy than a single wall-clock figure.
 * Run: npx tsx bench/pii/profile.ts
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RECOGNIZERS, analyze, scanInput } from '../../src/modules/pii/analyzer.ts';
import type { Finding, ScanInput } from '../../src/modules/pii/types.ts';
import { loadOwnCorpus } from './corpora.ts';
import { sparseMessages } from './sparse.ts';
import { adversarialInputs } from './perf.ts';
import { toMessages } from './profile-messages.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function profile(title: string, msgs: readonly string[], rounds = 5): void {
  const times = new Map<string, number>();
  for (const m of msgs) analyze(m);
  let whole = 0;
  for (let r = 0; r < rounds; r++) {
    for (const text of msgs) {
      const input: ScanInput = scanInput(text, 0.5);
      const out: Finding[] = [];
      for (const rec of RECOGNIZERS) {
        const s = process.hrtime.bigint();
        rec(input, out);
        const e = process.hrtime.bigint();
        times.set(rec.name, (times.get(rec.name) ?? 0) + Number(e - s) / 1e6);
      }
      const s = process.hrtime.bigint();
      analyze(text);
      whole += Number(process.hrtime.bigint() - s) / 1e6;
    }
  }
  const bytes = msgs.reduce((a, m) => a + Buffer.byteLength(m), 0) * rounds;
  const sum = [...times.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${title}: ${msgs.length} messages; analyze() ${(bytes / 1e6 / (whole / 1000)).toFixed(1)} MB/s`);
  for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${k.padEnd(26)} ${((100 * v) / sum).toFixed(1).padStart(5)} %  ${((v / rounds / msgs.length) * 1000).toFixed(1).padStart(7)} µs/msg`);
  }
}

profile('own corpus', toMessages(loadOwnCorpus(repoRoot).map((d) => d.text)));
profile('sparse prose', sparseMessages(repoRoot));

/** Per-recogniser milliseconds on each hostile 100 KB input, largest first. */
function adversarial(): void {
  const inputs = adversarialInputs(loadOwnCorpus(repoRoot).slice(0, 40).map((d) => d.text).join(' '));
  const rows: [string, number, string][] = [];
  for (const [name, text] of Object.entries(inputs)) {
    const input: ScanInput = scanInput(text, 0.5);
    const out: Finding[] = [];
    const per: [string, number][] = [];
    for (const rec of RECOGNIZERS) {
      const s = performance.now();
      rec(input, out);
      per.push([rec.name, performance.now() - s]);
    }
    per.sort((a, b) => b[1] - a[1]);
    const total = per.reduce((a, [, t]) => a + t, 0);
    rows.push([name, total, per.slice(0, 3).map(([k, t]) => `${k.replace('recognize', '')} ${t.toFixed(1)}`).join(', ')]);
  }
  console.log('\nhostile 100 KB inputs (recognisers only, ms):');
  for (const [n, t, top] of rows.sort((a, b) => b[1] - a[1])) console.log(`  ${n.padEnd(20)} ${t.toFixed(1).padStart(7)}  ${top}`);
}
adversarial();
