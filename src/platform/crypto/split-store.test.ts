import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createCipher } from './envelope.ts';
import { createKeyring } from './keyring.ts';
import { createLocalKms } from './kms.ts';
import { createMemoryDataKeyStore } from './memory-store.ts';
import { createSplitDataKeyStore } from './split-store.ts';
import { orgScope, subjectScope } from './types.ts';
import { manualClock } from './test-helpers.ts';

test('subject keys stay out of the organisation store, which is what the data backups copy', async () => {
  const org = createMemoryDataKeyStore();
  const subject = createMemoryDataKeyStore();
  const clock = manualClock();
  const keyring = createKeyring({ kms: createLocalKms(randomBytes(32)), store: createSplitDataKeyStore({ org, subject }), clock });
  const cipher = createCipher({ keyring });
  const aad = { orgId: 'org_a', table: 'messages', column: 'content', rowId: 'msg_1' };
  await cipher.encrypt('x', aad);
  await cipher.encrypt('y', aad, subjectScope('org_a', 'vis_1'));
  assert.deepEqual([...org.rows.values()].map((r) => r.scope), [orgScope('org_a')]);
  assert.deepEqual([...subject.rows.values()].map((r) => r.scope), [subjectScope('org_a', 'vis_1')]);

  const result = await keyring.rewrapAll(createLocalKms(randomBytes(32)), 1);
  assert.equal(result.rewrapped, 2);
});
