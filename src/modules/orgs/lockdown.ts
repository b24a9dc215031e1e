/**
 * Incident response for one organisation: every API key of the organisation, every session of
 * its members, every pending invitation and every visitor session of its projects' widgets end at
 * once, on every instance; every project's identity secret is deleted (an owner or admin makes a
 * new one for the host site); every webhook is turned off, with what it had pending, and gets a new
 * signing secret (shown to nobody: an owner or admin checks it, rotates again for its receiver and
 * turns it back on); single sign-on is turned off (an owner turns it back on; left on when no owner
 * has a password, who could); and the lockdown is audited.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { AccountService } from '../accounts/service.ts';
import type { ApiKeyService } from '../api-keys/service.ts';
import type { ProjectService } from '../projects/service.ts';
import type { AuditService } from '../audit/service.ts';
import type { WebhookService } from '../webhooks/service.ts';
import type { SsoService } from '../sso/service.ts';
import type { Access } from './access.ts';
import type { OrgService } from './service.ts';
import { orgParams } from '../../platform/http/id-params.ts';
import { createOrgStore } from './store.ts';

export function lockdownRoutes(deps: {
  db: Kysely<DB>;
  orgs: Pick<OrgService, 'listMembers'>;
  accounts: Pick<AccountService, 'revokeAllSessionsOf' | 'federation'>;
  apiKeys: Pick<ApiKeyService, 'revokeAll' | 'revokeRemainingIn' | 'evictAll'>;
  projects: Pick<ProjectService, 'endAllVisitorSessionsIn' | 'forgetIdentitySecretsIn' | 'projectsChanged'>;
  webhooks: Pick<WebhookService, 'sealerFor' | 'lockDownIn'>;
  sso: Pick<SsoService, 'lockDownIn' | 'ownersWithPassword'>;
  audit: Pick<AuditService, 'record'>;
  access: Access;
  auth: Authenticator;
  clock: Clock;
}) {
  const store = createOrgStore();
  return async function plugin(app: App): Promise<void> {
    app.post('/v1/orgs/:orgId/lockdown', {
      schema: {
        operationId: 'lockdownOrg',
        tags: ['orgs'],
        description:
          "Revoke every API key of the organisation, every session of its members, every pending invitation and every visitor session of its projects' widgets and every project's identity secret, turn every webhook off with a new signing secret, and turn single sign-on off, at once.",
        params: orgParams,
      },
      handler: async (request) => {
        const { orgId } = request.params;
        const principal = await deps.auth.require(request);
        await deps.access.authorize(principal, orgId, 'org:lockdown');
        const actor = { principal, ip: request.ip };
        const members = await deps.orgs.listMembers(orgId);
        // Sessions first, then keys: a key a session's request makes meanwhile holds that session
        // (platform/http/credential-hold.ts), so the sessions' revocation waits for it to commit and
        // the keys' revocation then ends it too — or it comes after and is refused.
        const revokedSessions = await deps.accounts.revokeAllSessionsOf(members.map((m) => m.userId));
        const revokedApiKeys = await deps.apiKeys.revokeAll(orgId, actor);
        // Pending invitations expire too: one an intruder sent to an address of theirs would
        // otherwise let them back in after the keys and sessions are gone. So do the visitor
        // sessions of its widgets (a stolen visitor token, an intruder's own visitor session),
        // in the transaction that records the lockdown.
        // Webhooks too: one an intruder added would go on receiving every event, and a leaked
        // secret would let its holder forge deliveries to the receiver. And single sign-on: an
        // intruder with an account at the provider would sign straight back in — unless no owner
        // has a password: then nobody could turn it back on, and it stays (its sessions still end).
        const seal = await deps.webhooks.sealerFor(orgId);
        const ssoStays = (await deps.sso.ownersWithPassword(orgId)) === 0;
        const { revokedInvitations, endedProjects, removedIdentitySecrets, rotatedWebhookSecrets, disabledWebhooks, disabledSso, lateKeys } = await withTenant(deps.db, orgId, async (tx) => {
          // A key a key's request made while the revocation above ran (it waited for that request to
          // commit, but could not see its row): ended here — and again while a late key's own
          // request had made another (each statement sees what committed before it began).
          const late: string[] = [];
          for (let sweep = 0; sweep < 20; sweep++) {
            const found = await deps.apiKeys.revokeRemainingIn(tx, orgId);
            if (found.length === 0) break;
            late.push(...found);
          }
          const count = await store.withdrawPendingInvitations(tx, orgId, deps.clock.now());
          const ended = await deps.projects.endAllVisitorSessionsIn(tx, orgId);
          const identitySecrets = await deps.projects.forgetIdentitySecretsIn(tx, orgId);
          const hooks = await deps.webhooks.lockDownIn(tx, orgId, seal);
          const ssoOff = ssoStays ? false : await deps.sso.lockDownIn(tx, orgId);
          await deps.audit.record(tx, {
            orgId,
            actor: principal,
            action: 'org.lockdown',
            target: { type: 'org', id: orgId },
            ip: request.ip,
            metadata: { revokedApiKeys: revokedApiKeys + late.length, revokedSessions, revokedInvitations: count, endedVisitorSessionsInProjects: ended.length, removedIdentitySecrets: identitySecrets, disabledWebhooks: hooks.disabled, rotatedWebhookSecrets: hooks.rotated, disabledSso: ssoOff, ...(ssoStays ? { ssoKeptOn: 'no owner has a password' } : {}) },
          });
          return { revokedInvitations: count, endedProjects: ended, removedIdentitySecrets: identitySecrets, rotatedWebhookSecrets: hooks.rotated, disabledWebhooks: hooks.disabled, disabledSso: ssoOff, lateKeys: late };
        });
        await deps.apiKeys.evictAll(lateKeys);
        // Someone who joined while this ran (an invitation accepted before the withdrawal above)
        // was not among the members whose sessions ended: theirs end now.
        const before = new Set(members.map((m) => m.userId));
        const joined = (await deps.orgs.listMembers(orgId)).filter((m) => !before.has(m.userId));
        const lateSessions = joined.length > 0 ? await deps.accounts.revokeAllSessionsOf(joined.map((m) => m.userId)) : 0;
        await deps.projects.projectsChanged(endedProjects);
        // A sign-in through SSO that committed while this ran (before SSO was off) is ended too;
        // one committing after is refused (sso/service.ts checks the configuration again).
        await deps.accounts.federation.endSsoSessions(orgId);
        const endedVisitorSessionsInProjects = endedProjects.length;
        return { revokedApiKeys: revokedApiKeys + lateKeys.length, revokedSessions: revokedSessions + lateSessions, revokedInvitations, endedVisitorSessionsInProjects, removedIdentitySecrets, disabledWebhooks, rotatedWebhookSecrets, disabledSso, ...(ssoStays ? { ssoKeptOn: 'no owner has a password' } : {}) };
      },
    });
  };
}
