/**
 * The registry of encrypted columns: every column whose values go through `cipher.encrypt`
 * with AAD `{ orgId, table, column, rowId: row[idColumn] }`, where orgId is `row[orgColumn]` for
 * tenant tables, or one fixed organisation id for platform tables (`fixedOrgId`, e.g. users).
 * `keys rotate-org` re-encrypts exactly these. Modules append their columns here (one line each).
 * Must only ever hold trusted identifiers written in code: they are interpolated as SQL identifiers.
 */
import { assertId } from '../../platform/crypto/types.ts';

/**
 * The data-key scope (`org:platform`) of secrets that belong to no organisation, such as users'
 * TOTP secrets. A valid identifier that cannot collide with a real organisation id (`org_…`).
 */
export const PLATFORM_ORG_ID = 'platform';

interface ColumnBase {
  /** Table name, optionally schema-qualified (`public.messages`). */
  readonly table: string;
  readonly column: string;
  /** Text primary key, used as the AAD rowId and the re-encryption cursor. */
  readonly idColumn: string;
}

export type EncryptedColumn = ColumnBase & ({ readonly orgColumn: string } | { readonly fixedOrgId: string });

export const encryptedColumns: EncryptedColumn[] = [
  { table: 'messages', column: 'content', idColumn: 'id', orgColumn: 'org_id' },
  { table: 'pii_vault', column: 'value', idColumn: 'id', orgColumn: 'org_id' },
  { table: 'project_identity_secrets', column: 'secret', idColumn: 'project_id', orgColumn: 'org_id' },
  { table: 'project_answer_keys', column: 'api_key', idColumn: 'project_id', orgColumn: 'org_id' },
  { table: 'webhooks', column: 'secret', idColumn: 'id', orgColumn: 'org_id' },
  { table: 'org_sso', column: 'client_secret', idColumn: 'org_id', orgColumn: 'org_id' },
  { table: 'users', column: 'totp_secret', idColumn: 'id', fixedOrgId: PLATFORM_ORG_ID },
];

/** Whether rows of this column can hold values of `orgId` (a fixed-org column only of its own). */
export function columnHoldsOrg(column: EncryptedColumn, orgId: string): boolean {
  return 'fixedOrgId' in column ? column.fixedOrgId === orgId : true;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;

/** Adds a column once; refuses anything that is not a plain identifier. */
export function registerEncryptedColumn(column: EncryptedColumn): void {
  const names = [column.table, column.column, column.idColumn, ...('orgColumn' in column ? [column.orgColumn] : [])];
  for (const name of names) {
    if (!IDENTIFIER.test(name)) throw new Error(`Not a plain SQL identifier: ${name}`);
  }
  if ('fixedOrgId' in column) assertId('organisation id', column.fixedOrgId);
  if (!encryptedColumns.some((c) => c.table === column.table && c.column === column.column)) encryptedColumns.push(column);
}
