/**
 * PII engine benchmark: precision, recall, F1 and F2 per entity type on our labelled corpus and,
 * when ../shared/data/pii/ exists, on Presidio's public evaluation sets; then throughput and the
 * worst time over hostile 100 KB inputs. Prints tables and writes bench/pii-results.json.
 * Run: npx tsx bench/pii.ts [--min-score 0.5]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, type Finding } from '../src/modules/pii/index.ts';
import type { EntityType } from '../src/modules/pii/policy.ts';
import { type Doc, PRESIDIO_MAP, loadOwnCorpus, loadPresidio, presidioDir } from './pii/corpora.ts';
import { type Counts, type Metrics, metrics, scoreDocument, table, total } from './pii/score.ts';
import { adversarialInputs, throughput, worstCase } from './pii/perf.ts';
import { sparseMessages } from './pii/sparse.ts';
import { calibrate } from './lib/calibrate.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argScore = process.argv.indexOf('--min-score');
const minScore = argScore > 0 ? Number(process.argv[argScore + 1]) : 0.5;
const STRUCTURED: readonly EntityType[] = ['EMAIL', 'PHONE', 'CREDIT_CARD', 'IBAN', 'US_SSN', 'IP_ADDRESS'];

interface Evaluation { perType: Record<string, Metrics>; overall: Metrics; structured: Metrics; msPerDoc: number }

function evaluate(title: string, docs: readonly Doc[], scoredTypes?: ReadonlySet<EntityType>): Evaluation {
  const counts = new Map<EntityType, Counts>();
  const t0 = performance.now();
  for (const d of docs) {
    const preds: Finding[] = analyze(d.text, { minScore }).filter((f) => !scoredTypes || scoredTypes.has(f.type));
    scoreDocument(preds, d.labels, counts);
  }
  const msPerDoc = (performance.now() - t0) / docs.length;
  const rows = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, c]): [string, Metrics] => [k, metrics(c)]);
  const overall = metrics(total(counts.values()));
  const structured = metrics(total(STRUCTURED.flatMap((t) => (counts.get(t) ? [counts.get(t) as Counts] : []))));
  console.log(table(title, [...rows, ['STRUCTURED', structured], ['OVERALL', overall]]));
  console.log(`(${docs.length} documents, ${msPerDoc.toFixed(3)} ms per document)`);
  return { perType: Object.fromEntries(rows), overall, structured, msPerDoc: Math.round(msPerDoc * 1000) / 1000 };
}

const own = loadOwnCorpus(repoRoot);
const machine = { loopMopsPerSecond: calibrate(), node: process.version };
console.log(`machine speed now: ${machine.loopMopsPerSecond} M loop iterations/s (the same figure as in bench/results.json)`);
const results: Record<string, unknown> = { ranAt: new Date().toISOString(), machine, minScore, overlapRule: 'prediction covers >= 90% of the labelled span, same type' };
results['own'] = evaluate(`(a) own corpus, test/fixtures/pii/corpus.json, min score ${minScore}`, own);
for (const lang of ['en', 'de', 'fr', 'es']) {
  const docs = own.filter((d) => d.lang === lang);
  const c = new Map<EntityType, Counts>();
  for (const d of docs) scoreDocument(analyze(d.text, { minScore }), d.labels, c);
  const m = metrics(total(c.values()));
  console.log(`   ${lang}: P ${m.precision.toFixed(3)} R ${m.recall.toFixed(3)} F2 ${m.f2.toFixed(3)}`);
}

const dir = presidioDir(repoRoot);
let presidioTexts: string[] = [];
if (!dir) {
  console.log('\n(b) Presidio evaluation set: ../shared/data/pii/ not found, skipped.');
} else {
  const scored = new Set<EntityType>(Object.values(PRESIDIO_MAP));
  for (const [name, file] of [['presidio_synth_dataset_v2', 'presidio_synth_dataset_v2.json'], ['presidio_generated_large', 'presidio_generated_large.json']] as const) {
    const { docs, excluded } = loadPresidio(path.join(dir, file));
    if (name === 'presidio_synth_dataset_v2') presidioTexts = docs.map((d) => d.text);
    const ev = evaluate(`(b) ${file} — labels mapped to our types; predictions of types the set does not label are not scored`, docs, scored);
    const excludedList = [...excluded].map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(`excluded labels (no counterpart in our types): ${excludedList}`);
    results[name] = { ...ev, excludedLabels: Object.fromEntries(excluded) };
  }
  const ref = { precision: 0.685, recall: 0.603, f2: 0.618 };
  const ours = (results['presidio_synth_dataset_v2'] as Evaluation).overall;
  console.log(`\nsynth_dataset_v2 overall — Palisade: P ${ours.precision} R ${ours.recall} F2 ${ours.f2} | Presidio default (published, all its types): P ${ref.precision} R ${ref.recall} F2 ${ref.f2}`);
  results['presidioPublished'] = ref;
}

const tp = throughput(own.map((d) => d.text));
console.log(`\nthroughput on (a) own corpus (analyze + anonymize, one core): ${tp.mbPerSecond} MB/s; per 1 KB message p50 ${tp.p50Ms1k} ms, p99 ${tp.p99Ms1k} ms`);
if (presidioTexts.length > 0) {
  const tpPresidio = throughput(presidioTexts);
  console.log(`throughput on (b) presidio_synth_dataset_v2: ${tpPresidio.mbPerSecond} MB/s; per 1 KB message p50 ${tpPresidio.p50Ms1k} ms, p99 ${tpPresidio.p99Ms1k} ms`);
  results['throughputPresidio'] = tpPresidio;
}
const worst = worstCase(adversarialInputs(own.slice(0, 40).map((d) => d.text).join(' ')));
console.log(`worst 100 KB inputs: ${worst.slice(0, 6).map((w) => `${w.name} ${w.ms} ms`).join(', ')}`);
const sparse = throughput(sparseMessages(repoRoot));
console.log(`throughput on ordinary prose with sparse PII (package READMEs): ${sparse.mbPerSecond} MB/s; per 1 KB message p50 ${sparse.p50Ms1k} ms, p99 ${sparse.p99Ms1k} ms`);
results['throughput'] = tp;
results['throughputSparse'] = sparse;
results['worst100KB'] = worst;
writeFileSync(path.join(repoRoot, 'bench/pii-results.json'), JSON.stringify(results, null, 2) + '\n');
console.log('\nwrote bench/pii-results.json');
