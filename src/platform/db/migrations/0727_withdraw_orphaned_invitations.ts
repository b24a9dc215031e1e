import { sql, type Kysely } from 'kysely';

/**
 * Pending invitations whose sender is no longer a member who may invite to that role (owners and
 * admins hold members:manage; only owners invite owners) are withdrawn, as removing or demoting
 * the sender now does: before, they stayed usable, and acceptance now refuses them anyway. A
 * withdrawn invitation expires at its creation time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE invitations i SET expires_at = i.created_at
    WHERE i.accepted_at IS NULL AND i.expires_at > now()
      AND NOT EXISTS (
        SELECT 1 FROM memberships m
        WHERE m.org_id = i.org_id AND m.user_id = i.created_by
          AND m.role IN ('owner', 'admin') AND (i.role <> 'owner' OR m.role = 'owner')
      )`.execute(db);
}
