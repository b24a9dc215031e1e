import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipher, parseCiphertext, type Cipher } from './envelope.ts';
import { createMemoryCheckpointStore } from './memory-store.ts';
import { runReencryption, type EncryptedRow, type RowSource } from './reencrypt.ts';
import { orgScope, subjectScope } from './types.ts';
import { fixture } from './test-helpers.ts';

interface Table extends RowSource {
  rows: Map<string, EncryptedRow>;
}

function memoryTable(options: { crashAfterUpdates?: number; rows?: Map<string, EncryptedRow> } = {}): Table {
  const rows = options.rows ?? new Map<string, EncryptedRow>();
  let updates = 0;
  return {
    rows,
    async nextBatch(afterId, limit) {
      return [...rows.values()].filter((r) => afterId === undefined || r.id > afterId)
        .sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit);
    },
    async update(id, next, expectedOld) {
      if (options.crashAfterUpdates !== undefined && updates >= options.crashAfterUpdates) throw new Error('simulated crash');
      const row = rows.get(id);
      if (row === undefined || row.ciphertext !== expectedOld) return false;
      rows.set(id, { ...row, ciphertext: next });
      updates += 1;
      return true;
    },
  };
}

async function seed(table: Table, cipher: Cipher, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const id = `msg_${String(i).padStart(4, '0')}`;
    const aad = { orgId: 'org_a', table: 'messages', column: 'content', rowId: id };
    table.rows.set(id, { id, aad, ciphertext: await cipher.encrypt(`message ${i}`, aad) });
  }
}

const versions = (table: Table): number[] => [...table.rows.values()].map((r) => parseCiphertext(r.ciphertext, 'org_a').version);

test('re-encrypts every older row and survives a crash mid-way', async () => {
  const { keyring } = fixture();
  const cipher = createCipher({ keyring });
  const crashing = memoryTable({ crashAfterUpdates: 25 });
  await seed(crashing, cipher, 60);
  await keyring.rotate(orgScope('org_a'));
  const checkpoints = createMemoryCheckpointStore();
  const jobId = 'rotate:org_a:messages.content:v2';

  await assert.rejects(runReencryption({ jobId, source: crashing, checkpoints, cipher, batchSize: 10 }), /simulated crash/);
  assert.equal(await checkpoints.get(jobId), 'msg_0019', 'checkpoint is the last completed batch');
  assert.equal(versions(crashing).filter((v) => v === 2).length, 25);

  const resumed = memoryTable({ rows: crashing.rows });
  const result = await runReencryption({ jobId, source: resumed, checkpoints, cipher, batchSize: 10 });
  assert.equal(result.completed, true);
  assert.equal(result.scanned, 40, 'resumed after the checkpoint');
  assert.equal(result.reencrypted, 35);
  assert.ok(versions(crashing).every((v) => v === 2));
  for (const row of crashing.rows.values()) {
    assert.match(await cipher.decrypt(row.ciphertext, row.aad), /^message \d+$/);
  }
});

test('skips shredded subjects without resurrecting their key, counts lost races, stops on abort', async () => {
  const { keyring, store } = fixture();
  const cipher = createCipher({ keyring });
  const table = memoryTable();
  await seed(table, cipher, 5);
  const gone = subjectScope('org_a', 'vis_gone');
  const aad = { orgId: 'org_a', table: 'messages', column: 'content', rowId: 'msg_0009' };
  table.rows.set('msg_0009', { id: 'msg_0009', aad, ciphertext: await cipher.encrypt('shredded', aad, gone) });
  await keyring.destroy(gone);
  await keyring.rotate(orgScope('org_a'));

  const racing: RowSource = { nextBatch: table.nextBatch, update: async () => false };
  const raced = await runReencryption({ jobId: 'a', source: racing, checkpoints: createMemoryCheckpointStore(), cipher });
  assert.deepEqual({ conflicts: raced.conflicts, unreadable: raced.unreadable, ids: raced.unreadableIds }, { conflicts: 5, unreadable: 1, ids: ['msg_0009'] });
  assert.deepEqual(await store.listByScope(gone), []);

  const controller = new AbortController();
  const progress: number[] = [];
  const stopped = await runReencryption({
    jobId: 'b', source: table, checkpoints: createMemoryCheckpointStore(), cipher, batchSize: 2, signal: controller.signal,
    onBatch: (p) => { progress.push(p.scanned); controller.abort(); },
  });
  assert.equal(stopped.completed, false);
  assert.deepEqual(progress, [2]);
});
