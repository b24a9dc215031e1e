/**
 * Proving an e-mail domain: the organisation publishes `palisade-domain-verification=<token>` as a
 * TXT record at `_palisade-challenge.<domain>`, and asks for the check. Until a domain is proven,
 * its addresses are not signed in by the organisation's SSO; once proven for one organisation, no
 * other can prove it (a unique index), so nobody can make accounts for another company's people.
 */
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { Tx } from '../../platform/db/tenant.ts';
import { AppError } from '../../platform/http/errors.ts';

export type ResolveTxt = (name: string) => Promise<string[][]>;

export const challengeName = (domain: string): string => `_palisade-challenge.${domain}`;
export const challengeValue = (token: string): string => `palisade-domain-verification=${token}`;

export interface DomainView {
  domain: string;
  verified: boolean;
  verifiedAt: string | null;
  /** The TXT record to publish. */
  txtName: string;
  txtValue: string;
}

export function createDomainStore() {
  return {
    /** Keeps one row per listed domain (new ones get a token); rows of domains no longer listed go. */
    async sync(tx: Tx, orgId: string, domains: string[]): Promise<void> {
      await tx.deleteFrom('sso_domains').where('domain', 'not in', domains.length ? domains : ['']).execute();
      for (const domain of domains) {
        await tx.insertInto('sso_domains').values({ org_id: orgId, domain, token: randomBytes(18).toString('base64url') }).onConflict((oc) => oc.columns(['org_id', 'domain']).doNothing()).execute();
      }
    },

    async list(tx: Tx): Promise<DomainView[]> {
      const rows = await tx.selectFrom('sso_domains').selectAll().orderBy('domain').execute();
      return rows.map((r) => ({
        domain: r.domain,
        verified: r.verified_at !== null,
        verifiedAt: r.verified_at ? new Date(r.verified_at).toISOString() : null,
        txtName: challengeName(r.domain),
        txtValue: challengeValue(r.token),
      }));
    },

    async isVerified(tx: Tx, domain: string): Promise<boolean> {
      const row = await tx.selectFrom('sso_domains').select('verified_at').where('domain', '=', domain).executeTakeFirst();
      return row?.verified_at != null;
    },

    token: async (tx: Tx, domain: string): Promise<string | undefined> => (await tx.selectFrom('sso_domains').select('token').where('domain', '=', domain).executeTakeFirst())?.token,

    /**
     * Marks it proven — the row whose token was checked, if it is still there (removed and added
     * again meanwhile, it has a new token nobody published); another organisation having proven
     * the domain first is a conflict.
     */
    async markVerified(tx: Tx, domain: string, token: string, at: Date): Promise<boolean> {
      try {
        const result = await tx.updateTable('sso_domains').set({ verified_at: at }).where('domain', '=', domain).where('token', '=', token).executeTakeFirst();
        return Number(result.numUpdatedRows) === 1;
      } catch (error) {
        if ((error as { code?: unknown }).code === '23505') throw new AppError('conflict', 'Another organisation has proven this domain.');
        throw error;
      }
    },
  };
}

/** DNS look-ups of the challenge name: three seconds a try, two tries (the system resolver's servers). */
export function systemResolveTxt(): ResolveTxt {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  return (name) => resolver.resolveTxt(name);
}

/** Whether the TXT records at the challenge name hold the value (records may be split in strings). */
export async function publishes(resolveTxt: ResolveTxt, domain: string, token: string): Promise<boolean> {
  try {
    const records = await resolveTxt(challengeName(domain));
    return records.some((parts) => parts.join('') === challengeValue(token));
  } catch {
    return false; // no such name, or DNS did not answer
  }
}
