/**
 * Encryption at rest, wired into the real app: services.crypto encrypts bound to organisation,
 * table, column and row (a ciphertext copied elsewhere fails), nothing of a canary reaches raw
 * storage, shredding destroys a subject key on every instance, and an external database without
 * PALISADE_MASTER_KEY is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createInvalidationBus } from '../src/platform/cache/invalidation.ts';
import { createMemoryPubSub } from '../src/platform/cache/pubsub.ts';
import { systemClock } from '../src/platform/clock.ts';
import { isCryptoError } from '../src/platform/crypto/errors.ts';
import { createCryptoService } from '../src/platform/crypto/service.ts';
import { createCrypto, createKmsFromConfig } from '../src/platform/crypto/setup.ts';
import { subjectScope } from '../src/platform/crypto/types.ts';
import { startTestApp, type TestApp } from './helpers/harness.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';
import { TEST_MASTER_KEY } from './helpers/test-keys.ts';

const aad = (orgId: string, rowId: string) => ({ orgId, table: 'enc_probe', column: 'secret', rowId });
const quiet = { warn: () => undefined, info: () => undefined };

describe('encryption at rest', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    await sql`CREATE TABLE enc_probe (id text PRIMARY KEY, org_id text NOT NULL, secret text)`.execute(t.database.db);
  });
  after(() => t.close());

  const store = async (id: string, orgId: string, value: string): Promise<void> => {
    await sql`INSERT INTO enc_probe (id, org_id, secret) VALUES (${id}, ${orgId}, ${value})
              ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id, secret = EXCLUDED.secret`.execute(t.database.db);
  };
  const load = async (id: string): Promise<{ org_id: string; secret: string }> => {
    const { rows } = await sql<{ org_id: string; secret: string }>`SELECT org_id, secret FROM enc_probe WHERE id = ${id}`.execute(t.database.db);
    assert.ok(rows[0]);
    return rows[0];
  };

  it('a ciphertext copied into another row or organisation does not decrypt', async () => {
    const { cipher } = t.services.crypto;
    await store('row_1', 'org_a', await cipher.encrypt('the visitor said hello', aad('org_a', 'row_1')));
    await store('row_9', 'org_b', await cipher.encrypt('org b has a key too', aad('org_b', 'row_9')));
    const original = await load('row_1');
    assert.match(original.secret, /^v1\.o\.1\./, 'names its key and version');
    assert.equal(await cipher.decrypt(original.secret, aad(original.org_id, 'row_1')), 'the visitor said hello');

    await store('row_2', 'org_a', original.secret); // another row, same organisation
    await store('row_3', 'org_b', original.secret); // another organisation
    for (const id of ['row_2', 'row_3']) {
      const copy = await load(id);
      await assert.rejects(cipher.decrypt(copy.secret, aad(copy.org_id, id)), (e: unknown) => isCryptoError(e, 'decrypt_failed'));
    }
    await assert.rejects(cipher.decrypt(original.secret, { ...aad('org_a', 'row_1'), column: 'other' }), (e: unknown) => isCryptoError(e, 'decrypt_failed'));
  });

  it('a canary written through the cipher appears nowhere in raw storage', async () => {
    const canary = `CANARY-${Date.now()}-ciphertext-only`;
    const { cipher } = t.services.crypto;
    await store('row_canary', 'org_a', await cipher.encrypt(canary, aad('org_a', 'row_canary'), subjectScope('org_a', 'vis_canary')));
    assert.deepEqual(await scanForPlaintext(t, canary), []);
    // The scanner itself works: a value stored in the clear is found.
    const clear = `CLEAR-${Date.now()}-plaintext`;
    await store('row_clear', 'org_a', clear);
    assert.ok((await scanForPlaintext(t, clear)).length > 0, 'scanner finds plaintext');
  });

  it('shredding a subject destroys its key here and on other instances at once', async () => {
    const pubsub = createMemoryPubSub();
    const busA = createInvalidationBus(pubsub);
    const busB = createInvalidationBus(pubsub);
    await busA.start();
    await busB.start();
    const config = { ...t.config, masterKey: TEST_MASTER_KEY };
    const a = createCryptoService({ db: t.database.db, ...(await createCrypto({ db: t.database.db, config, log: quiet })), invalidation: busA, clock: systemClock });
    const b = createCryptoService({ db: t.database.db, ...(await createCrypto({ db: t.database.db, config, log: quiet })), invalidation: busB, clock: systemClock });
    const scope = subjectScope('org_a', 'vis_shred');
    const value = await a.cipher.encrypt('erase me', aad('org_a', 'row_s'), scope);
    assert.equal(await b.cipher.decrypt(value, aad('org_a', 'row_s')), 'erase me'); // b caches the key
    assert.equal(await a.shred('org_a', 'vis_shred'), 1);
    for (const instance of [a, b]) {
      await assert.rejects(instance.cipher.decrypt(value, aad('org_a', 'row_s')), (e: unknown) => isCryptoError(e, 'key_not_found'));
    }
    const tomb = await t.database.db.selectFrom('key_erasures').selectAll().where('scope', '=', scope).executeTakeFirst();
    assert.ok(tomb, 'erasure recorded for key-store restores');
    await busA.stop();
    await busB.stop();
  });

  it('the tenant role cannot read key tables', async () => {
    await t.services.crypto.cipher.encrypt('x', aad('org_a', 'row_x'), subjectScope('org_a', 'vis_x'));
    const visible = await t.database.db.transaction().execute(async (tx) => {
      await sql`SELECT set_config('role', 'palisade_app', true), set_config('palisade.org_id', 'org_a', true)`.execute(tx);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM data_keys`.execute(tx);
      return rows[0]?.n;
    });
    assert.equal(visible, 0);
    await assert.rejects(t.database.db.transaction().execute(async (tx) => {
      await sql`SELECT set_config('role', 'palisade_app', true)`.execute(tx);
      await sql`SELECT count(*) FROM keystore.subject_keys`.execute(tx);
    }), /permission denied/);
  });

  it('an external database without PALISADE_MASTER_KEY is refused, naming the variable', async () => {
    await assert.rejects(
      createKmsFromConfig({ masterKey: undefined, masterKeyPrevious: [], dataDir: '/nonexistent', databaseUrl: 'postgres://x/y' }, quiet),
      (e: unknown) => isCryptoError(e, 'missing_master_key') && /PALISADE_MASTER_KEY/.test((e as Error).message),
    );
  });
});
