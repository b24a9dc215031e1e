/**
 * Ordinary text with sparse PII for throughput: English prose from the READMEs of installed
 * packages (markdown, code samples, URLs, versions), cut into ~1 KB messages; every fourth
 * message carries one labelled chat line from our corpus.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadOwnCorpus } from './corpora.ts';

const PACKAGES = ['fastify', 'ioredis', 'fast-check', 'kysely', 'jose', 'zod', 'pino', 'pg', 'tldts', 'ibantools'];

export function sparseMessages(repoRoot: string): string[] {
  const prose = PACKAGES.map((p) => path.join(repoRoot, 'node_modules', p, 'README.md'))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const pii = loadOwnCorpus(repoRoot).map((d) => d.text);
  const out: string[] = [];
  for (let i = 0, k = 0; i + 1024 <= prose.length; i += 1024, k++) {
    const chunk = prose.slice(i, i + 1024);
    const line = pii[k % pii.length] ?? '';
    out.push(k % 4 === 0 ? (line + '\n' + chunk).slice(0, 1024) : chunk);
  }
  return out;
}
