/** SQL for visitors, conversations and messages. Tenant-scoped (withTenant), except the directory look-up by id. */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';
import type { Citation, ConversationRef } from './types.ts';

export function createChatStore() {
  return {
    /** Directory read by public id: which organisation and project a conversation belongs to. */
    findConversation: async (db: Kysely<DB>, id: string): Promise<ConversationRef | undefined> => {
      const row = await db.selectFrom('conversations').select(['id', 'org_id', 'project_id', 'visitor_id']).where('id', '=', id).executeTakeFirst();
      return row ? { id: row.id, orgId: row.org_id, projectId: row.project_id, visitorId: row.visitor_id } : undefined;
    },

    /** An anonymous visitor's row, written with their first conversation (verified ones exist already). */
    ensureVisitor: (tx: Tx, v: { id: string; org_id: string; project_id: string }) =>
      tx
        .insertInto('visitors')
        .values({ ...v, external_ref: null, verified: false })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute(),

    insertConversation: (
      tx: Tx,
      c: { id: string; org_id: string; project_id: string; visitor_id: string | null; api_key_id: string | null; origin: string | null },
    ) => tx.insertInto('conversations').values(c).execute(),

    touchConversation: (tx: Tx, id: string, at: Date) => tx.updateTable('conversations').set({ last_message_at: at }).where('id', '=', id).execute(),

    insertMessage: (tx: Tx, m: { id: string; org_id: string; conversation_id: string; role: 'user' | 'assistant'; content: string; citations: Citation[] }) =>
      tx
        .insertInto('messages')
        .values({ ...m, citations: JSON.stringify(m.citations) })
        .execute(),

    recentMessages: (tx: Tx, conversationId: string, limit: number) =>
      tx
        .selectFrom('messages')
        .select(['id', 'role', 'content', 'citations', 'created_at'])
        .where('conversation_id', '=', conversationId)
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute(),
  };
}

export type ChatStore = ReturnType<typeof createChatStore>;
