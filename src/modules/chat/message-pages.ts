/**
 * A conversation's messages, oldest first, a page per tenant transaction: however long a
 * conversation grew, no read holds more than a page of it (the organisation export, the entity
 * counts).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, MessagesTable } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';

export const MESSAGE_PAGE = 500;

export async function* messagePages(db: Kysely<DB>, orgId: string, conversationId: string, pageSize = MESSAGE_PAGE): AsyncGenerator<Selectable<MessagesTable>[]> {
  let after: string | undefined;
  for (;;) {
    const rows = await withTenant(db, orgId, (tx) => {
      let q = tx.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId);
      // After the last one read, as the database dates it (to the microsecond).
      if (after !== undefined) q = q.where(sql<boolean>`(created_at, id) > (SELECT m.created_at, m.id FROM messages m WHERE m.id = ${after})`);
      return q.orderBy('created_at').orderBy('id').limit(pageSize).execute();
    });
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) return;
    after = rows.at(-1)?.id;
  }
}
