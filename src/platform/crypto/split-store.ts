/**
 * Sends organisation keys and subject keys to two different stores. Subject keys must live
 * where the data backups cannot reach (their own table or database, with its own short-lived
 * backups), so that destroying one really erases that subject from every copy of the data.
 * Owns the routing only; must never let a subject key land in the organisation store.
 */
import type { DataKeyRecord, DataKeyStore, KeyPosition, Scope } from './types.ts';

export function createSplitDataKeyStore(stores: { org: DataKeyStore; subject: DataKeyStore }): DataKeyStore {
  const pick = (scope: Scope): DataKeyStore => (scope.startsWith('subject:') ? stores.subject : stores.org);
  return {
    get: (scope, version) => pick(scope).get(scope, version),
    listByScope: (scope) => pick(scope).listByScope(scope),
    insert: (record) => pick(record.scope).insert(record),
    deleteScope: (scope) => pick(scope).deleteScope(scope),
    firstVersion: (scope) => pick(scope).firstVersion(scope),
    updateWrapped: (scope, version, wrapped, kekId, expected) =>
      pick(scope).updateWrapped(scope, version, wrapped, kekId, expected),
    // Organisation scopes ("org:…") all sort before subject scopes ("subject:…"): one order over both stores.
    async listNotWrappedBy(kekId: string, limit: number, after?: KeyPosition): Promise<DataKeyRecord[]> {
      const fromOrg = await stores.org.listNotWrappedBy(kekId, limit, after);
      if (fromOrg.length >= limit) return fromOrg;
      return [...fromOrg, ...(await stores.subject.listNotWrappedBy(kekId, limit - fromOrg.length, after))];
    },
  };
}
