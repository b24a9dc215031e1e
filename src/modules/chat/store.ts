/**
 * SQL for visitors, conversations and messages. Tenant-scoped (withTenant), except the directory
 * look-up by id. A message written to a project or conversation deleted meanwhile is not_found.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ConversationsTable, DB, MessagesTable } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Citation, ConversationRef } from './types.ts';

/** A new conversation's row, as the message path writes it (timestamps are the database's). */
export type ConversationRow = Omit<ConversationsTable, 'created_at' | 'last_message_at'>;

/** A message's row, with its citations as objects (stored as JSON). */
export type MessageRow = Omit<MessagesTable, 'created_at' | 'citations'> & { citations: Citation[] };

/** Where new messages go: a conversation opened with them, or an existing one they bring up to date. */
export type MessageTarget = { open: ConversationRow } | { touch: { conversationId: string; at: Date } };

/** The anonymous visitor's row (verified visitors exist already; a known one is left as it is), then the conversation. */
function openingCtes(c: ConversationRow): RawBuilder<unknown>[] {
  const conversation = sql`conversation AS (
    INSERT INTO conversations (id, org_id, project_id, visitor_id, api_key_id, origin)
    VALUES (${c.id}, ${c.org_id}, ${c.project_id}, ${c.visitor_id}, ${c.api_key_id}, ${c.origin}))`;
  if (!c.visitor_id) return [conversation];
  const visitor = sql`visitor AS (
    INSERT INTO visitors (id, org_id, project_id, external_ref, verified)
    VALUES (${c.visitor_id}, ${c.org_id}, ${c.project_id}, NULL, false) ON CONFLICT (id) DO NOTHING)`;
  return [visitor, conversation];
}

export function createChatStore() {
  return {
    /**
     * A conversation by public id. On the pool (`db`) it is a directory read: which organisation
     * and project it belongs to. Inside a tenant transaction another organisation's is not there.
     */
    findConversation: async (db: Kysely<DB> | Tx, id: string): Promise<ConversationRef | undefined> => {
      const row = await db.selectFrom('conversations').select(['id', 'org_id', 'project_id', 'visitor_id', 'api_key_id']).where('id', '=', id).executeTakeFirst();
      return row ? { id: row.id, orgId: row.org_id, projectId: row.project_id, visitorId: row.visitor_id, apiKeyId: row.api_key_id } : undefined;
    },

    insertConversation: async (tx: Tx, c: ConversationRow): Promise<void> => {
      try {
        await tx.insertInto('conversations').values(c).execute();
      } catch (error) {
        // The project was deleted while its cached entry still let the request in.
        if ((error as { code?: string }).code === '23503') throw new AppError('not_found', 'This chatbot was deleted meanwhile.');
        throw error;
      }
    },

    /**
     * Messages, in one statement with whatever their conversation needs: opening it (visitor and
     * conversation rows) or touching its last_message_at. Foreign keys are checked at the end of
     * the statement, so the order holds. Messages written together get increasing created_at in
     * the order given, so a question always sorts before the answer stored with it, and a
     * continuing conversation's new messages start after its last one: PGlite's clock can read
     * the same instant for two quick turns, which put a question before the previous answer.
     */
    recordMessages: async (tx: Tx, target: MessageTarget, messages: readonly MessageRow[]): Promise<void> => {
      const ctes =
        'open' in target
          ? [...openingCtes(target.open), sql`base AS (SELECT clock_timestamp() AS at)`]
          : [
              sql`touched AS (UPDATE conversations SET last_message_at = ${target.touch.at} WHERE id = ${target.touch.conversationId})`,
              sql`base AS (SELECT GREATEST(clock_timestamp(), max(created_at) + interval '1 microsecond') AS at FROM messages WHERE conversation_id = ${target.touch.conversationId})`,
            ];
      const rows = messages.map(
        (m, i) =>
          sql`(${m.id}, ${m.org_id}, ${m.conversation_id}, ${m.role}, ${m.content}, ${JSON.stringify(m.citations)}::jsonb, (SELECT at FROM base) + ${i}::integer * interval '1 microsecond')`,
      );
      try {
        await sql`WITH ${sql.join(ctes)}
          INSERT INTO messages (id, org_id, conversation_id, role, content, citations, created_at) VALUES ${sql.join(rows)}`.execute(tx);
      } catch (error) {
        // A foreign key refused the write: the project or conversation was deleted by a request
        // that committed while this message was being answered (its project still cached).
        if ((error as { code?: string }).code === '23503') throw new AppError('not_found', 'This chatbot or conversation was deleted meanwhile.');
        throw error;
      }
    },

    /** Newest first; `before` (a message id of the conversation) pages on to older ones, by (time, id). */
    recentMessages: (tx: Tx, conversationId: string, limit: number, before?: string) => {
      let q = tx
        .selectFrom('messages')
        .select(['id', 'role', 'content', 'citations', 'created_at'])
        .where('conversation_id', '=', conversationId);
      if (before !== undefined) {
        q = q.where(sql<boolean>`(created_at, id) < (SELECT m.created_at, m.id FROM messages m WHERE m.id = ${before} AND m.conversation_id = ${conversationId})`);
      }
      return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },
  };
}

export type ChatStore = ReturnType<typeof createChatStore>;
