/** Route parameter schemas for the platform's ids (`org_…`, `vis_…`): one pattern, one message. */
import { z } from 'zod';
import type { IdPrefix } from '../ids.ts';

/** An id with this prefix; `what` names it in the refusal ("must be an organisation id (org_…)"). */
export function idSchema(prefix: IdPrefix, what: string) {
  return z.string().regex(new RegExp(`^${prefix}_[0-9A-Za-z]{1,40}$`), `must be ${what} (${prefix}_…)`);
}

/** `:orgId` routes. */
export const orgParams = z.strictObject({ orgId: idSchema('org', 'an organisation id') });

/**
 * The body of a route that takes none: nothing, or an empty JSON object. Anything else (an array,
 * a string, fields) is a 400 rather than silently ignored.
 */
export const noBody = z.strictObject({}).nullish();
