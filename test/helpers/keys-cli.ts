/**
 * The real `palisade` CLI with one extra encrypted column registered (a test table), as a child
 * process for tests that kill it mid-way: `node --import tsx test/helpers/keys-cli.ts keys …`.
 */
import { registerEncryptedColumn } from '../../src/modules/keys/registry.ts';

registerEncryptedColumn({ table: 'rot_probe', column: 'secret', idColumn: 'id', orgColumn: 'org_id' });
await import('../../src/main.ts');
