#!/usr/bin/env node
// Builds the browser assets into dist/. Today: the embeddable widget (dist/widget.js), one
// minified IIFE with a gzip budget. Add an entry to `targets` for the next asset.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const targets = [
  {
    name: 'widget',
    entry: 'src/widget/index.ts',
    outfile: 'dist/widget.js',
    maxGzipBytes: 30 * 1024,
    options: { format: 'iife', target: 'es2020', platform: 'browser' },
  },
];

let failed = false;
for (const target of targets) {
  const started = performance.now();
  const outfile = join(root, target.outfile);
  await build({
    entryPoints: [join(root, target.entry)],
    outfile,
    bundle: true,
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
    ...target.options,
  });
  const bytes = readFileSync(outfile);
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const ms = Math.round(performance.now() - started);
  console.log(`${target.name}: ${relative(root, outfile)} ${kb(bytes.length)}, ${kb(gzipped)} gzipped (budget ${kb(target.maxGzipBytes)}) in ${ms} ms`);
  if (gzipped > target.maxGzipBytes) {
    console.error(`${target.name}: over its gzip budget`);
    failed = true;
  }
}
if (failed) process.exit(1);
