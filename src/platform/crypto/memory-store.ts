/**
 * In-memory DataKeyStore for tests and single-process tools. Owns nothing durable; must never
 * be used by a server whose keys have to survive a restart.
 */
import type { CheckpointStore } from './reencrypt.ts';
import type { DataKeyRecord, DataKeyStore, Scope } from './types.ts';

export function createMemoryDataKeyStore(): DataKeyStore & { readonly rows: Map<string, DataKeyRecord> } {
  const rows = new Map<string, DataKeyRecord>();
  const lastDeleted = new Map<Scope, number>();
  const id = (scope: Scope, version: number): string => `${scope}#${version}`;
  const ordered = (): DataKeyRecord[] =>
    [...rows.values()].sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : a.version - b.version));

  return {
    rows,
    async get(scope, version) {
      return rows.get(id(scope, version));
    },
    async listByScope(scope) {
      return ordered().filter((r) => r.scope === scope).reverse();
    },
    async insert(record) {
      const key = id(record.scope, record.version);
      if (rows.has(key)) return false;
      rows.set(key, record);
      return true;
    },
    async deleteScope(scope) {
      let count = 0;
      for (const [key, row] of rows) {
        if (row.scope === scope) {
          rows.delete(key);
          lastDeleted.set(scope, Math.max(lastDeleted.get(scope) ?? 0, row.version));
          count += 1;
        }
      }
      return count;
    },
    async firstVersion(scope) {
      return (lastDeleted.get(scope) ?? 0) + 1;
    },
    async listNotWrappedBy(kekId, limit, after) {
      const past = (r: DataKeyRecord): boolean => after === undefined || r.scope > after.scope || (r.scope === after.scope && r.version > after.version);
      return ordered().filter((r) => r.kekId !== kekId && past(r)).slice(0, limit);
    },
    async updateWrapped(scope, version, wrapped, kekId, expectedKekId) {
      const row = rows.get(id(scope, version));
      if (row === undefined || row.kekId !== expectedKekId) return false;
      rows.set(id(scope, version), { ...row, wrapped, kekId });
      return true;
    },
  };
}

export function createMemoryCheckpointStore(): CheckpointStore {
  const checkpoints = new Map<string, string>();
  return {
    async get(jobId) {
      return checkpoints.get(jobId);
    },
    async set(jobId, lastId) {
      checkpoints.set(jobId, lastId);
    },
  };
}
