/**
 * Shared shapes of the crypto layer: key scopes, the data-key store contract and the table it
 * maps to. Owns no behaviour beyond scope parsing; must never hold key material itself.
 *
 * Table the SQL store maps to (the lead writes the migration). It lives in the key store, which
 * the data backups do not contain (see README.md, "crypto-shredding"):
 *
 *   create table data_keys (
 *     scope      text        not null,  -- 'org:<orgId>' | 'subject:<orgId>:<subjectId>'
 *     version    integer     not null check (version > 0),
 *     wrapped    bytea       not null,  -- data key wrapped by the KEK (Kms.wrap output)
 *     kek_id     text        not null,  -- which key-encryption key wrapped it
 *     created_at timestamptz not null,
 *     primary key (scope, version)
 *   );
 *   create index data_keys_kek_id on data_keys (kek_id, scope, version);  -- rotate-master batches
 *
 * No `org_id` column and no RLS on purpose: keys are read by the platform, never by tenant code.
 */
import { CryptoError } from './errors.ts';

export type Scope = `org:${string}` | `subject:${string}:${string}`;

export interface DataKeyRecord {
  readonly scope: Scope;
  readonly version: number;
  readonly wrapped: Buffer;
  readonly kekId: string;
  readonly createdAt: Date;
}

/** Where a key stands in (scope, version) order. */
export interface KeyPosition {
  scope: Scope;
  version: number;
}

export interface DataKeyStore {
  get(scope: Scope, version: number): Promise<DataKeyRecord | undefined>;
  /** Highest version first. */
  listByScope(scope: Scope): Promise<DataKeyRecord[]>;
  /** Returns false when (scope, version) already exists: another instance won the race. */
  insert(record: DataKeyRecord): Promise<boolean>;
  /** Deletes every version of the scope, remembering the last one; returns how many rows went. */
  deleteScope(scope: Scope): Promise<number>;
  /** The version a scope's first key takes: 1, or one above the last version ever deleted. */
  firstVersion(scope: Scope): Promise<number>;
  /** Keys not wrapped by `kekId`, ordered by (scope, version), at most `limit`; only those past `after` when given. */
  listNotWrappedBy(kekId: string, limit: number, after?: KeyPosition): Promise<DataKeyRecord[]>;
  /** Compare-and-set on `expectedKekId`; returns false if the row changed or vanished meanwhile. */
  updateWrapped(scope: Scope, version: number, wrapped: Buffer, kekId: string, expectedKekId: string): Promise<boolean>;
}

export interface CryptoLogger {
  warn(message: string): void;
  info(message: string): void;
}

/** Row-binding for a ciphertext: copying it to another row, column or organisation breaks it. */
export interface CipherAad {
  readonly orgId: string;
  readonly table: string;
  readonly column: string;
  readonly rowId: string;
}

// Ids become part of a scope string and of the AAD: a restricted alphabet keeps both unambiguous.
const ID = /^[A-Za-z0-9_-]{1,128}$/;

export function assertId(kind: string, value: string): void {
  if (!ID.test(value)) throw new CryptoError('invalid_scope', `The ${kind} is not a valid identifier.`);
}

export function orgScope(orgId: string): Scope {
  assertId('organisation id', orgId);
  return `org:${orgId}`;
}

export function subjectScope(orgId: string, subjectId: string): Scope {
  assertId('organisation id', orgId);
  assertId('subject id', subjectId);
  return `subject:${orgId}:${subjectId}`;
}

export function parseScope(scope: string): { orgId: string; subjectId?: string } {
  const parts = scope.split(':');
  if (parts[0] === 'org' && parts.length === 2 && parts[1] !== undefined && ID.test(parts[1])) {
    return { orgId: parts[1] };
  }
  if (parts[0] === 'subject' && parts.length === 3 && parts[1] !== undefined && parts[2] !== undefined &&
      ID.test(parts[1]) && ID.test(parts[2])) {
    return { orgId: parts[1], subjectId: parts[2] };
  }
  throw new CryptoError('invalid_scope', 'The key scope is not valid.');
}

export function isScope(value: string): value is Scope {
  try {
    parseScope(value);
    return true;
  } catch {
    return false;
  }
}
