/** Where one ~1 KB message's time goes: scanInput, recognisers, analyze(), analyze + anonymize. Run: npx tsx bench/pii/split.ts */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, scanInput, RECOGNIZERS } from '../../src/modules/pii/analyzer.ts';
import { anonymize, createMemoryTokenVault, defaultPiiPolicy } from '../../src/modules/pii/index.ts';
import type { Finding } from '../../src/modules/pii/types.ts';
import { loadOwnCorpus } from './corpora.ts';
import { toMessages } from './profile-messages.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const msgs = toMessages(loadOwnCorpus(repoRoot).map((d) => d.text));
const KEY = Buffer.alloc(32, 7);
const bytes = msgs.reduce((a, m) => a + Buffer.byteLength(m), 0);

function time(name: string, fn: (m: string) => void): void {
  const until = performance.now() + 3000;
  while (performance.now() < until) for (const m of msgs) fn(m);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const s = performance.now();
    for (const m of msgs) fn(m);
    best = Math.min(best, performance.now() - s);
  }
  console.log(`${name.padEnd(22)} ${((best * 1000) / msgs.length).toFixed(1).padStart(7)} µs/msg  ${(bytes / 1e6 / (best / 1000)).toFixed(1)} MB/s`);
}

time('scanInput', (m) => scanInput(m, 0.5));
time('recognisers', (m) => { const i = scanInput(m, 0.5); const out: Finding[] = []; for (const r of RECOGNIZERS) r(i, out); });
time('analyze', (m) => analyze(m));
const found = new Map(msgs.map((m) => [m, analyze(m)]));
time('anonymize', (m) => { const v = createMemoryTokenVault(); anonymize(m, found.get(m)!, defaultPiiPolicy, { tokenFor: v.tokenFor, hashKey: KEY }); });
time('analyze+anonymize', (m) => { const v = createMemoryTokenVault(); anonymize(m, analyze(m), defaultPiiPolicy, { tokenFor: v.tokenFor, hashKey: KEY }); });
