/**
 * Retrieval latency: knowledge.search() (one tenant transaction, full-text query, any-word
 * fallback) over 1,000 and 10,000 chunks in one project, on PGlite and — when reachable — on
 * PostgreSQL, in a throw-away database it creates and drops. The text is generated
 * deterministically from a seeded generator. Target: p99 under 20 ms at 10,000 chunks. Never
 * fails on a timing. `npx tsx bench/retrieval.ts`, or `runRetrievalBench()`.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import pg from 'pg';
import { createAuditService } from '../src/modules/audit/service.ts';
import { createKnowledgeService } from '../src/modules/knowledge/service.ts';
import { createKnowledgeStore, type ChunkInsert } from '../src/modules/knowledge/store.ts';
import { openDatabase, type Database } from '../src/platform/db/driver.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { withTenant } from '../src/platform/db/tenant.ts';

const QUERIES = 300;
const WARMUP = 30;
const CHUNKS_PER_DOCUMENT = 10;
const sizes = [1_000, 10_000];

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Text with the shape of real documentation: a Zipf-distributed vocabulary of 6,000 content
// words mixed with common stop words. The ranks start at 50 because in real text the top of the
// Zipf curve is stop words: the most common content word then sits in about a third of chunks.
const syllables = 'ka lo mi ne ru sa ti vo pe da gri stan mol fen ber cor lin tas vel quo nar dip hul zen wor'.split(' ');
const stopWords = 'the a of to and in is for on with that by as it be are or this from at can your you when'.split(' ');
const vocabulary: string[] = [];
for (let i = 0; vocabulary.length < 6000; i += 1) {
  let n = i;
  let word = '';
  do {
    word += syllables[n % syllables.length];
    n = Math.floor(n / syllables.length);
  } while (n > 0);
  if (word.length >= 4) vocabulary.push(word);
}
const cumulative: number[] = [];
vocabulary.reduce((sum, _, rank) => {
  const next = sum + 1 / (rank + 50) ** 1.07;
  cumulative.push(next);
  return next;
}, 0);

function zipfWord(rand: () => number, minRank = 0): string {
  const total = cumulative[cumulative.length - 1] ?? 1;
  const floor = minRank > 0 ? (cumulative[minRank - 1] ?? 0) : 0;
  const target = floor + rand() * (total - floor);
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] ?? 0) < target) lo = mid + 1;
    else hi = mid;
  }
  return vocabulary[lo] ?? 'ka';
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function sentence(rand: () => number): string {
  const words: string[] = [];
  const length = 8 + Math.floor(rand() * 9);
  for (let i = 0; i < length; i += 1) words.push(rand() < 0.45 ? pick(rand, stopWords) : zipfWord(rand));
  const s = `${words.join(' ')}.`;
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function chunkText(rand: () => number): string {
  let text = '';
  while (text.length < 900) text += `${text ? ' ' : ''}${sentence(rand)}`;
  return text;
}

function heading(rand: () => number): string {
  return `${zipfWord(rand, 50)} ${zipfWord(rand, 50)}`;
}

/** Keyword searches, natural questions (which often need the any-word fallback), and misses. */
function queries(rand: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < QUERIES + WARMUP; i += 1) {
    const kind = rand();
    if (kind < 0.45) out.push(`${zipfWord(rand, 20)} ${zipfWord(rand, 20)}`);
    else if (kind < 0.9) out.push(`How can I ${zipfWord(rand, 20)} the ${zipfWord(rand, 20)} of my ${zipfWord(rand, 20)}?`);
    else out.push(`kubernetes ${zipfWord(rand, 20)}`);
  }
  return out;
}

async function fill(database: Database, orgId: string, projectId: string, from: number, to: number, rand: () => number): Promise<void> {
  const store = createKnowledgeStore();
  for (let first = from; first < to; first += 1000) {
    await withTenant(database.db, orgId, async (tx) => {
      const chunks: ChunkInsert[] = [];
      for (let d = first; d < Math.min(to, first + 1000); d += CHUNKS_PER_DOCUMENT) {
        const documentId = `doc_bench${d}`;
        await store.insertDocument(tx, { id: documentId, org_id: orgId, project_id: projectId, title: `Guide ${d / CHUNKS_PER_DOCUMENT}`, url: null, content_type: 'text', chars: 9000 });
        for (let ord = 0; ord < CHUNKS_PER_DOCUMENT; ord += 1) {
          chunks.push({ id: `${documentId}_${ord}`, org_id: orgId, project_id: projectId, document_id: documentId, ord, heading: heading(rand), text: chunkText(rand) });
        }
      }
      await store.insertChunks(tx, chunks);
    });
  }
  await sql`ANALYZE knowledge_chunks`.execute(database.db);
  await sql`ANALYZE documents`.execute(database.db);
}

function percentile(sorted: readonly number[], p: number): number {
  return Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) * 100) / 100;
}

async function measure(database: Database): Promise<Record<string, unknown>> {
  const orgId = 'org_bench';
  const projectId = 'prj_bench';
  await database.db.insertInto('orgs').values({ id: orgId, name: 'Bench', slug: 'bench' }).execute();
  await database.db.insertInto('projects').values({ id: projectId, org_id: orgId, name: 'bench', settings: '{}' }).execute();
  const knowledge = createKnowledgeService({ db: database.db, audit: createAuditService() });
  const rand = mulberry32(20_261_123);
  const result: Record<string, unknown> = {};
  let filled = 0;
  for (const size of sizes) {
    const started = performance.now();
    await fill(database, orgId, projectId, filled, size, rand);
    const fillSeconds = Math.round((performance.now() - started) / 10) / 100;
    filled = size;
    const times: number[] = [];
    let empty = 0;
    for (const [i, q] of queries(mulberry32(size)).entries()) {
      const t0 = performance.now();
      const hits = await knowledge.search(orgId, projectId, q, 5);
      if (i >= WARMUP) {
        times.push(performance.now() - t0);
        if (hits.length === 0) empty += 1;
      }
    }
    times.sort((a, b) => a - b);
    result[`chunks${size}`] = { p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), p99Ms: percentile(times, 99), maxMs: percentile(times, 100), queries: times.length, noMatch: empty, fillSeconds };
  }
  return result;
}

async function pgliteBench(): Promise<Record<string, unknown>> {
  const database = await openDatabase({ pglite: new PGlite() });
  try {
    await migrate(database.db);
    return await measure(database);
  } finally {
    await database.close();
  }
}

async function postgresBench(): Promise<Record<string, unknown>> {
  const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const admin = new pg.Client({ connectionString: base.toString(), connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return { skipped: 'PostgreSQL is not reachable (set DATABASE_URL)' };
  }
  const name = `palisade_bench_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 4 });
  try {
    await migrate(database.db);
    return await measure(database);
  } finally {
    await database.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

export async function runRetrievalBench(): Promise<Record<string, unknown>> {
  return { node: process.version, target: 'p99 < 20 ms at 10,000 chunks', pglite: await pgliteBench(), postgres: await postgresBench() };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runRetrievalBench(), null, 2));
}
