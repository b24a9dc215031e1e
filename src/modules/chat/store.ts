/** SQL for visitors, conversations and messages. Tenant-scoped (withTenant), except the directory look-up by id. */
import type { Kysely } from 'kysely';
import type { ConversationsTable, DB, MessagesTable } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';
import type { Citation, ConversationRef } from './types.ts';

/** A new conversation's row, as the message path writes it (timestamps are the database's). */
export type ConversationRow = Omit<ConversationsTable, 'created_at' | 'last_message_at'>;

/** A message's row, with its citations as objects (stored as JSON). */
export type MessageRow = Omit<MessagesTable, 'created_at' | 'citations'> & { citations: Citation[] };

export function createChatStore() {
  return {
    /** Directory read by public id: which organisation and project a conversation belongs to. */
    findConversation: async (db: Kysely<DB>, id: string): Promise<ConversationRef | undefined> => {
      const row = await db.selectFrom('conversations').select(['id', 'org_id', 'project_id', 'visitor_id']).where('id', '=', id).executeTakeFirst();
      return row ? { id: row.id, orgId: row.org_id, projectId: row.project_id, visitorId: row.visitor_id } : undefined;
    },

    /**
     * A new conversation with its first message, in one statement: the anonymous visitor's row
     * (verified visitors exist already; a known one is left as it is), the conversation, the
     * message. Foreign keys are checked at the end of the statement, so the order holds.
     */
    openConversation: (tx: Tx, c: ConversationRow, first: MessageRow) => {
      const message = { ...first, citations: JSON.stringify(first.citations) };
      if (!c.visitor_id) return tx.with('conversation', (q) => q.insertInto('conversations').values(c)).insertInto('messages').values(message).execute();
      const visitor = { id: c.visitor_id, org_id: c.org_id, project_id: c.project_id, external_ref: null, verified: false };
      return tx
        .with('visitor', (q) => q.insertInto('visitors').values(visitor).onConflict((oc) => oc.column('id').doNothing()))
        .with('conversation', (q) => q.insertInto('conversations').values(c))
        .insertInto('messages')
        .values(message)
        .execute();
    },

    insertConversation: (tx: Tx, c: ConversationRow) => tx.insertInto('conversations').values(c).execute(),

    touchConversation: (tx: Tx, id: string, at: Date) => tx.updateTable('conversations').set({ last_message_at: at }).where('id', '=', id).execute(),

    insertMessage: (tx: Tx, m: MessageRow) =>
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
