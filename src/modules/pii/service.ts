/**
 * The message path's PII step: tokenise a visitor's message with the project's policy, keeping
 * each original in the conversation's encrypted vault (the same value keeps its token for the
 * whole conversation), and give back a restorer that puts values back into the streamed answer:
 * the current message's values for any caller, the conversation's earlier values only for its
 * own visitor and only those the visitor wrote. Never logs values; never stores a value unencrypted.
 */
import { hkdfSync } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant, type Tx } from '../../platform/db/tenant.ts';
import { AppError } from '../../platform/http/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Keyring } from '../../platform/crypto/keyring.ts';
import { orgScope } from '../../platform/crypto/types.ts';
import type { ContentCipher } from '../chat/content-cipher.ts';
import { createMemoryTokenVault, hashIdentifier, protect, type Finding } from './index.ts';
import type { EntityType, PiiPolicy } from './policy.ts';
import { createStreamRestorer, type StreamRestorer } from './stream-restore.ts';
import { tokenNumber } from './vault.ts';

export interface Shielded {
  /** The message as stored and as the answer provider sees it. */
  text: string;
  findings: Finding[];
  /** Writes the new vault entries inside the caller's transaction. */
  persist(tx: Tx): Promise<void>;
  /**
   * Restores the values of this message, and the conversation's earlier values only when the
   * caller is its subject; other tokens stay tokens.
   */
  restorer(): StreamRestorer;
}

export interface PiiService {
  protect(input: {
    orgId: string;
    conversationId: string;
    subjectId: string;
    text: string;
    policy: PiiPolicy;
    newConversation?: boolean;
    /** The caller is the conversation's own visitor: only then may earlier values be restored. */
    callerIsSubject: boolean;
    /**
     * A value the caller writes may take the token an earlier one has: the caller is the
     * conversation's visitor, or the conversation has none (every value in it came from the
     * organisation's own callers). Otherwise the token would tell whether a guess was right.
     */
    matchEarlierValues: boolean;
  }): Promise<Shielded>;
  /** The per-organisation HMAC key of the `hash` operator and of erasure look-ups. */
  hashKey(orgId: string): Promise<Buffer>;
}

/** Values a conversation's vault holds at most (a long support conversation holds a few dozen). */
export const MAX_VAULT_ENTRIES = 1000;

export function createPiiService(deps: { db: Kysely<DB>; cipher: ContentCipher; keyring: Pick<Keyring, 'keyFor' | 'currentKey'> }): PiiService {
  const { db, cipher } = deps;
  const aad = (orgId: string, rowId: string) => ({ orgId, table: 'pii_vault', column: 'value', rowId });
  const hashKeys = new Map<string, Buffer>();

  // Derived from the organisation's first data-key version, so hashes stay stable across key
  // rotations (they are look-up keys, not secrecy).
  async function hashKey(orgId: string): Promise<Buffer> {
    const cached = hashKeys.get(orgId);
    if (cached) return cached;
    await deps.keyring.currentKey(orgScope(orgId));
    const base = await deps.keyring.keyFor(orgScope(orgId), 1);
    const key = Buffer.from(hkdfSync('sha256', base.key, Buffer.alloc(0), 'palisade pii hash v1', 32));
    hashKeys.set(orgId, key);
    return key;
  }

  return {
    hashKey,
    async protect({ orgId, conversationId, subjectId, text, policy, newConversation, callerIsSubject, matchEarlierValues }) {
      const [key, rows] = await Promise.all([
        hashKey(orgId),
        // A conversation that does not exist yet has no vault to read.
        policy.enabled && !newConversation
          ? withTenant(db, orgId, (tx) => tx.selectFrom('pii_vault').select(['id', 'token', 'type', 'value', 'by_subject']).where('conversation_id', '=', conversationId).execute())
          : [],
      ]);
      const vault = createMemoryTokenVault();
      const known = new Set<string>();
      /** The subject's own earlier values, the only ones restored to them (not what the organisation's callers wrote). */
      const subjectsOwn = new Map<string, string>();
      const existing = await Promise.all(rows.map(async (r) => ({ ...r, value: await cipher.decrypt(r.value, aad(orgId, r.id)) })));
      // Each stored token is put back as it is (a value written twice, e.g. by a caller who may
      // not match it, has two tokens: in token order, the first keeps matching it). A caller who
      // may not match earlier values gets new tokens for its own, even when one equals the visitor's;
      // and nobody matches a value such a caller wrote (a guess planted before the visitor wrote theirs).
      for (const r of existing.sort((a, b) => tokenNumber(a.token) - tokenNumber(b.token))) {
        vault.replay(r.type as EntityType, r.token, r.value, matchEarlierValues && r.by_subject);
        known.add(r.token);
        if (r.by_subject) subjectsOwn.set(r.token, r.value);
      }
      // This message's values as the caller wrote them: a value the visitor sent before keeps its
      // token, but the stored original may be another spelling of it (case, phone formatting).
      const sent = new Map<string, string>();
      // A full vault takes no new values: each would cost every later message a row to read and
      // decrypt. Values past it are redacted (never stored, never restored).
      let room = MAX_VAULT_ENTRIES - rows.length;
      const tokenFor = (type: EntityType, value: string): string => {
        // Only a full vault asks first (has() normalises the value, as tokenFor does).
        if (room <= 0 && !vault.has(type, value)) return '[REDACTED]';
        const token = vault.tokenFor(type, value);
        if (!sent.has(token)) {
          if (!known.has(token)) room--; // a new token: one more row
          sent.set(token, value);
        }
        return token;
      };
      const result = protect(text, policy, { tokenFor, hashKey: key });
      // Encrypted now, so the caller's transaction only writes.
      const fresh = await Promise.all(
        vault
          .entries()
          .filter((e) => !known.has(e.token))
          .map(async (e) => {
            const id = newId('ent');
            return {
              id,
              org_id: orgId,
              conversation_id: conversationId,
              token: e.token,
              type: e.type,
              value: await cipher.encrypt(e.value, aad(orgId, id), { orgId, subjectId }),
              value_hash: hashIdentifier(e.type, e.value, key),
              by_subject: matchEarlierValues,
            };
          }),
      );
      return {
        text: result.text,
        findings: result.findings,
        async persist(tx) {
          if (!fresh.length) return;
          // Counted again where it is written: messages of one conversation protected at once each
          // saw room for their own values. The caller has locked the conversation's row by now
          // (recording the messages touched it), so this count includes every message before. A
          // conversation this message opens has no other writer: nothing to count.
          if (!newConversation) {
            const stored = await tx.selectFrom('pii_vault').select((eb) => eb.fn.countAll<string>().as('n')).where('conversation_id', '=', conversationId).executeTakeFirstOrThrow();
            if (Number(stored.n) !== rows.length && Number(stored.n) + fresh.length > MAX_VAULT_ENTRIES) {
              throw new AppError('conflict', 'Another message of this conversation was being stored at the same moment. Send this one again.');
            }
          }
          try {
            await tx.insertInto('pii_vault').values(fresh).execute();
          } catch (error) {
            // Two messages of one conversation protected at once drew the same new token; the
            // later one is refused whole (its transaction rolls back) rather than failing as a 500.
            if ((error as { code?: unknown }).code === '23505') throw new AppError('conflict', 'Another message of this conversation was being stored at the same moment. Send this one again.');
            throw error;
          }
        },
        restorer: () => createStreamRestorer((token) => sent.get(token) ?? (callerIsSubject ? subjectsOwn.get(token) : undefined)),
      };
    },
  };
}
