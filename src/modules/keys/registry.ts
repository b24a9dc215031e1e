/**
 * The registry of encrypted columns: every column whose values go through `cipher.encrypt`
 * with AAD `{ orgId: row[orgColumn], table, column, rowId: row[idColumn] }`. `keys rotate-org`
 * re-encrypts exactly these. Modules append their columns here (one line each). Must only ever
 * hold trusted identifiers written in code: they are interpolated as SQL identifiers.
 */
export interface EncryptedColumn {
  /** Table name, optionally schema-qualified (`public.messages`). */
  readonly table: string;
  readonly column: string;
  /** Text primary key, used as the AAD rowId and the re-encryption cursor. */
  readonly idColumn: string;
  readonly orgColumn: string;
}

export const encryptedColumns: EncryptedColumn[] = [
  { table: 'messages', column: 'content', idColumn: 'id', orgColumn: 'org_id' },
  { table: 'pii_vault', column: 'value', idColumn: 'id', orgColumn: 'org_id' },
  { table: 'project_identity_secrets', column: 'secret', idColumn: 'project_id', orgColumn: 'org_id' },
  { table: 'project_answer_keys', column: 'api_key', idColumn: 'project_id', orgColumn: 'org_id' },
];

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;

/** Adds a column once; refuses anything that is not a plain identifier. */
export function registerEncryptedColumn(column: EncryptedColumn): void {
  for (const name of [column.table, column.column, column.idColumn, column.orgColumn]) {
    if (!IDENTIFIER.test(name)) throw new Error(`Not a plain SQL identifier: ${name}`);
  }
  if (!encryptedColumns.some((c) => c.table === column.table && c.column === column.column)) encryptedColumns.push(column);
}
