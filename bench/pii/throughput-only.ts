/** Just the two throughput figures of bench/pii.ts, repeated: for profiling and quick comparisons. Run: npx tsx bench/pii/throughput-only.ts [repeats] */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOwnCorpus } from './corpora.ts';
import { adversarialInputs, throughput, worstCase } from './perf.ts';
import { sparseMessages } from './sparse.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const own = loadOwnCorpus(repoRoot).map((d) => d.text);
const sparse = sparseMessages(repoRoot);
const repeats = Number(process.argv[2] ?? 3);
for (let r = 0; r < repeats; r++) {
  const d = throughput(own);
  const s = throughput(sparse);
  console.log(`dense ${d.mbPerSecond} MB/s p50 ${d.p50Ms1k} p99 ${d.p99Ms1k} | sparse ${s.mbPerSecond} MB/s p50 ${s.p50Ms1k} p99 ${s.p99Ms1k}`);
}
const worst = worstCase(adversarialInputs(own.slice(0, 40).join(' ')));
console.log(`worst 100 KB: ${worst.slice(0, 5).map((w) => `${w.name} ${w.ms} ms`).join(', ')}`);
