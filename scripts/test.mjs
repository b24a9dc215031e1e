#!/usr/bin/env node
// `npm test`: type-check, build the widget, then run every *.test.ts on PGlite, and the whole
// suite again on PostgreSQL (and Redis) when DATABASE_URL (and REDIS_URL) are set.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

function run(cmd, cmdArgs, env) {
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const files = (only.length ? only : [...findTests('src'), ...findTests('test')]).sort();
if (!args.includes('--no-build')) {
  run('npx', ['tsc', '--noEmit']);
  run('npx', ['tsc', '--noEmit', '-p', 'src/widget']);
  if (existsSync('scripts/build.mjs')) run('node', ['scripts/build.mjs']);
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const nodeArgs = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files];

const passes = [{ name: 'PGlite (embedded)', env: { DATABASE_URL: '', REDIS_URL: '', PALISADE_TEST_BACKEND: 'pglite' } }];
if (process.env.DATABASE_URL) {
  passes.push({ name: 'PostgreSQL' + (process.env.REDIS_URL ? ' + Redis' : ''), env: { PALISADE_TEST_BACKEND: 'postgres' } });
}
for (const pass of passes) {
  console.log(`\n=== npm test on ${pass.name}: ${files.length} files ===\n`);
  run(process.execPath, nodeArgs, pass.env);
}
