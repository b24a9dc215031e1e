/**
 * Differential check for engine changes: records analyze() findings and the anonymized text for
 * every document of both corpora, Presidio's sets, the sparse-prose and 1 KB throughput messages
 * and the hostile inputs, then compares them with an earlier recording.
 * Run: npx tsx bench/pii/snapshot.ts save /tmp/pii-before.json
 *      npx tsx bench/pii/snapshot.ts diff /tmp/pii-before.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, anonymize, createMemoryTokenVault, defaultPiiPolicy } from '../../src/modules/pii/index.ts';
import { loadOwnCorpus, loadPresidio, presidioDir } from './corpora.ts';
import { adversarialInputs } from './perf.ts';
import { toMessages } from './profile-messages.ts';
import { sparseMessages } from './sparse.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KEY = Buffer.alloc(32, 7);

function documents(): Record<string, string[]> {
  const own = loadOwnCorpus(repoRoot).map((d) => d.text);
  const sets: Record<string, string[]> = { own, own1k: toMessages(own), sparse: sparseMessages(repoRoot) };
  const dir = presidioDir(repoRoot);
  if (dir) {
    for (const f of ['presidio_synth_dataset_v2.json', 'presidio_generated_large.json']) sets[f] = loadPresidio(path.join(dir, f)).docs.map((d) => d.text);
  }
  const hostile = adversarialInputs(own.slice(0, 40).join(' '));
  sets['hostile'] = Object.values(hostile);
  return sets;
}

/** One line per document: findings, then the anonymized text and the vault tokens per value. */
function record(text: string): string {
  const findings = analyze(text);
  const vault = createMemoryTokenVault();
  const tokenized = anonymize(text, findings, defaultPiiPolicy, { tokenFor: vault.tokenFor, hashKey: KEY });
  const hashed = anonymize(text, findings, { ...defaultPiiPolicy, defaultOperator: 'hash' }, { tokenFor: vault.tokenFor, hashKey: KEY });
  const low = analyze(text, { minScore: 0.3 });
  return JSON.stringify([findings, tokenized.text, hashed.text, low]);
}

const [mode, file] = process.argv.slice(2);
if (!file || (mode !== 'save' && mode !== 'diff')) throw new Error('usage: snapshot.ts save|diff <file>');
const now: Record<string, string[]> = {};
for (const [name, docs] of Object.entries(documents())) now[name] = docs.map(record);
if (mode === 'save') {
  writeFileSync(file, JSON.stringify(now));
  console.log(`saved ${Object.values(now).reduce((a, d) => a + d.length, 0)} documents to ${file}`);
} else {
  const before = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string[]>;
  const texts = documents();
  let diffs = 0;
  let total = 0;
  for (const [name, docs] of Object.entries(now)) {
    docs.forEach((d, i) => {
      total++;
      if (d === before[name]?.[i]) return;
      diffs++;
      if (diffs <= 10) {
        console.log(`--- ${name}[${i}]: ${JSON.stringify((texts[name]?.[i] ?? '').slice(0, 300))}`);
        console.log(`before ${(before[name]?.[i] ?? '').slice(0, 600)}`);
        console.log(`after  ${d.slice(0, 600)}`);
      }
    });
  }
  console.log(`${diffs} of ${total} documents differ`);
  process.exitCode = diffs === 0 ? 0 : 1;
}
