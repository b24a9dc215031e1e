/** Steady-state µs per ~1 KB message for each recogniser alone (many rounds, so JIT-warm). Run: npx tsx bench/pii/micro.ts [rounds] */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RECOGNIZERS, scanInput } from '../../src/modules/pii/analyzer.ts';
import { newPhoneChecks } from '../../src/modules/pii/recognizers/phone.ts';
import type { Finding, ScanInput } from '../../src/modules/pii/types.ts';
import { loadOwnCorpus } from './corpora.ts';
import { sparseMessages } from './sparse.ts';
import { toMessages } from './profile-messages.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rounds = Number(process.argv[2] ?? 30);

for (const [title, msgs] of [['own corpus', toMessages(loadOwnCorpus(repoRoot).map((d) => d.text))], ['sparse prose', sparseMessages(repoRoot)]] as const) {
  const inputs: ScanInput[] = msgs.map((text) => scanInput(text, 0.5));
  const row: string[] = [];
  let sum = 0;
  for (const rec of RECOGNIZERS) {
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const s = performance.now();
      for (const input of inputs) {
        input.phone = newPhoneChecks(2500);
        const out: Finding[] = [];
        rec(input, out);
      }
      best = Math.min(best, performance.now() - s);
    }
    const us = (best * 1000) / inputs.length;
    sum += us;
    row.push(`${rec.name.replace('recognize', '')} ${us.toFixed(1)}`);
  }
  console.log(`${title}: total ${sum.toFixed(1)} µs/msg (${(1024 / sum).toFixed(1)} MB/s recognisers only) — ${row.join(', ')}`);
}
