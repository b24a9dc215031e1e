import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMasterKey } from './master-key.ts';
import { isCryptoError } from './errors.ts';

function recorder(): { warnings: string[]; log: { warn(m: string): void; info(m: string): void } } {
  const warnings: string[] = [];
  return { warnings, log: { warn: (m) => warnings.push(m), info: () => undefined } };
}

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'palisade-key-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('reads a base64 key from PALISADE_MASTER_KEY and writes no file', () => withDir(async (dir) => {
  const key = randomBytes(32);
  const { log, warnings } = recorder();
  const loaded = await loadMasterKey({ envValue: key.toString('base64'), dataDir: dir, allowKeyFile: true, log });
  assert.deepEqual(loaded.key, key);
  assert.equal(loaded.source, 'env');
  assert.equal(warnings.length, 0);
  await assert.rejects(stat(join(dir, 'master.key')), { code: 'ENOENT' });
}));

test('a key file left in the data directory while PALISADE_MASTER_KEY is set is warned of at every start', () => withDir(async (dir) => {
  const fileKey = randomBytes(32);
  await writeFile(join(dir, 'master.key'), fileKey.toString('base64') + '\n', { mode: 0o600 });
  const moved = recorder();
  await loadMasterKey({ envValue: randomBytes(32).toString('base64'), dataDir: dir, allowKeyFile: true, log: moved.log });
  assert.equal(moved.warnings.length, 1);
  assert.match(moved.warnings[0] ?? '', /MASTER KEY FILE LIES IN THE DATA DIRECTORY: .*master\.key[\s\S]*rotate-master` re-wraps 0 keys[\s\S]*delete it/);
  assert.ok(!(moved.warnings[0] ?? '').includes(fileKey.toString('base64')), 'the key is never echoed');
  const same = recorder();
  await loadMasterKey({ envValue: fileKey.toString('base64'), dataDir: dir, allowKeyFile: false, log: same.log });
  assert.match(same.warnings[0] ?? '', /holds PALISADE_MASTER_KEY itself/);
}));

test('a malformed env value is refused with an error naming the variable, not echoing it', () => withDir(async (dir) => {
  const { log } = recorder();
  for (const bad of ['not-base64!', randomBytes(16).toString('base64'), randomBytes(33).toString('base64')]) {
    await assert.rejects(loadMasterKey({ envValue: bad, dataDir: dir, allowKeyFile: true, log }), (e) =>
      isCryptoError(e, 'invalid_master_key') && e.message.includes('PALISADE_MASTER_KEY') && !e.message.includes(bad));
  }
}));

test('without env and without the embedded default, the key is required', () => withDir(async (dir) => {
  const { log } = recorder();
  await assert.rejects(loadMasterKey({ dataDir: dir, allowKeyFile: false, log }), (e) =>
    isCryptoError(e, 'missing_master_key') && e.message.includes('PALISADE_MASTER_KEY'));
}));

test('embedded default creates a 0600 key file once, warns loudly, and reuses it', () => withDir(async (dir) => {
  const dataDir = join(dir, 'data');
  const first = recorder();
  const created = await loadMasterKey({ dataDir, allowKeyFile: true, log: first.log });
  assert.equal(created.created, true);
  assert.equal((await stat(join(dataDir, 'master.key'))).mode & 0o777, 0o600);
  assert.match(first.warnings.join('\n'), /MASTER KEY FILE/);
  const again = await loadMasterKey({ dataDir, allowKeyFile: true, log: recorder().log });
  assert.equal(again.created, false);
  assert.deepEqual(again.key, created.key);
}));

test('two instances starting together end up with the same key', () => withDir(async (dir) => {
  const results = await Promise.all([1, 2, 3].map(() => loadMasterKey({ dataDir: dir, allowKeyFile: true, log: recorder().log })));
  assert.equal(new Set(results.map((r) => r.keyId)).size, 1);
  assert.equal(results.filter((r) => r.created).length, 1);
}));

test('a group- or world-readable key file is refused', () => withDir(async (dir) => {
  const path = join(dir, 'master.key');
  await writeFile(path, randomBytes(32).toString('base64'), { mode: 0o600 });
  await chmod(path, 0o644);
  await assert.rejects(loadMasterKey({ dataDir: dir, allowKeyFile: true, log: recorder().log }), (e) =>
    isCryptoError(e, 'insecure_key_file') && e.message.includes('chmod 600'));
  await chmod(path, 0o640);
  await assert.rejects(loadMasterKey({ dataDir: dir, allowKeyFile: true, log: recorder().log }), (e) => isCryptoError(e, 'insecure_key_file'));
}));

test('a symlinked key file is refused', () => withDir(async (dir) => {
  const target = join(dir, 'elsewhere');
  await writeFile(target, randomBytes(32).toString('base64'), { mode: 0o600 });
  await symlink(target, join(dir, 'master.key'));
  await assert.rejects(loadMasterKey({ dataDir: dir, allowKeyFile: true, log: recorder().log }), (e) => isCryptoError(e, 'insecure_key_file'));
}));
