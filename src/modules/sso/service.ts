/**
 * OpenID Connect single sign-on for one organisation: its owners name their identity provider
 * (issuer, client id and secret — the secret stored encrypted, never returned), the e-mail
 * domains it may sign in (each proven by DNS: domains.ts), and the role new people get. A sign-in starts at
 * `/v1/auth/sso/{orgSlug}/start` and comes back to `/v1/auth/sso/callback`.
 *
 * Who is signed in: the provider must say the e-mail address is verified, and its domain must be
 * one the organisation proved by DNS (domains.ts). An identity (issuer + subject) seen before signs in the account it
 * was linked to; otherwise an account is made for the address — one that belongs to this
 * organisation alone (no password, joins no other organisation: orgs/service.ts), so a provider,
 * run by this organisation's admins, can never sign in someone of another organisation. An
 * existing account for the address that this organisation's SSO did not make is never signed in
 * (it would let those admins into that person's other organisations): its owner signs in with
 * their password. Every sign-in is audited (`user.login` with `method: 'sso'`), and so is every
 * account made and every change of the configuration.
 *
 * A session it starts records the organisation and whether the provider reported more than one
 * factor (amr.ts): orgs/access.ts lets such a session meet the organisation's 2FA requirement, and
 * lets members other than owners in at all once the organisation requires its SSO (`required`).
 */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../platform/ids.ts';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import { orgScope } from '../../platform/crypto/types.ts';
import type { DB } from '../../platform/db/tables.ts';
import { enterTenant, withTenant, type Tx } from '../../platform/db/tenant.ts';
import { withTenantHolding } from '../../platform/http/credential-hold.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { AuditService } from '../audit/service.ts';
import type { AccountService } from '../accounts/service.ts';
import type { OrgService } from '../orgs/service.ts';
import { discoverOidc, pkce, type OidcClient } from './oidc.ts';
import type { SsoStore } from './store.ts';
import { providerReportedMfa } from './amr.ts';
import { challengeName, createDomainStore, publishes, type DomainView, type ResolveTxt } from './domains.ts';

export interface ProvisioningPolicy {
  defaultRole: 'viewer' | 'editor';
  provenDomains: string[];
}

/** How long a sign-in under way may take (the binding cookie lives as long: routes.ts). */
export const LOGIN_TTL_MS = 10 * 60_000;

export interface SsoConfigInput {
  issuer: string;
  clientId: string;
  clientSecret: string;
  emailDomains: string[];
  defaultRole: 'viewer' | 'editor';
  /** Kept as stored when omitted (true for a new configuration). */
  enabled?: boolean | undefined;
  /** Members other than owners must sign in through this SSO (needs it enabled and a proven domain). Kept as stored when omitted (false for a new one). */
  required?: boolean | undefined;
}

export interface SsoView {
  issuer: string;
  clientId: string;
  emailDomains: string[];
  defaultRole: 'viewer' | 'editor';
  enabled: boolean;
  required: boolean;
  redirectUri: string;
  updatedAt: string;
  /** Members other than owners whose account this SSO did not make: it cannot sign them in, so once it is required they are refused. */
  membersWithoutSso: number;
  /** Each domain's DNS proof: only proven domains are signed in. */
  domains: DomainView[];
}

interface Actor {
  principal: Principal;
  ip: string | null;
}

const secretAad = (orgId: string) => ({ orgId, table: 'org_sso', column: 'client_secret', rowId: orgId });

/**
 * Refused sign-ins all look alike to the browser — the same code and message whatever the reason
 * (a message per reason would tell a provider's admin whether an address has an account here);
 * the server log says why.
 */
const refused = (): AppError => new AppError('sso_failed', "Single sign-on did not succeed. Start again from your organisation's sign-in link, or ask its admins.");
const DISCOVERY_CACHE_MS = 5 * 60_000;
/** How long a provider whose discovery failed is not asked again (a configuration change asks at once). */
const FAILED_DISCOVERY_MS = 30_000;

export function createSsoService(deps: {
  db: Kysely<DB>;
  store: SsoStore;
  cipher: Pick<Cipher, 'sealer' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  accounts: Pick<AccountService, 'federation'>;
  orgs: Pick<OrgService, 'addFederatedMember' | 'isMember'>;
  clock: Clock;
  publicUrl: string;
  /** fetch that reaches only allowed addresses, and whether plain http issuers are allowed. */
  fetch: typeof fetch;
  allowHttp: boolean;
  checkIssuer: (url: string) => void;
  directoryChanged: (userIds: string[]) => Promise<void>;
  log: { warn(details: object, message: string): void };
  resolveTxt: ResolveTxt;
}) {
  const { db, store } = deps;
  const domains = createDomainStore();
  /** Discovered providers, per organisation and configuration, for a few minutes: /start is public. */
  const discovered = new Map<string, { key: string; oidc: OidcClient; until: number }>();
  const failed = new Map<string, { key: string; until: number }>();
  const redirectUri = `${deps.publicUrl.replace(/\/+$/, '')}/v1/auth/sso/callback`;

  async function viewIn(tx: Tx, orgId: string, domainViews?: DomainView[]): Promise<SsoView | null> {
    const row = await store.config(tx);
    if (!row) return null;
    return {
      membersWithoutSso: await store.membersWithoutSso(tx, orgId),
      domains: domainViews ?? (await domains.list(tx)),
      issuer: row.issuer,
      clientId: row.client_id,
      emailDomains: row.email_domains,
      defaultRole: row.default_role,
      enabled: row.enabled,
      required: row.required,
      redirectUri,
      updatedAt: new Date(row.updated_at).toISOString(),
    };
  }

  async function get(orgId: string): Promise<SsoView | null> {
    return withTenant(db, orgId, (tx) => viewIn(tx, orgId));
  }

  /**
   * Issuers openid-client would not compare with the provider's: a discovery document (fetched
   * as it is, its issuer taken on trust) and a multi-tenant one (any tenant's tokens pass). Judged
   * on the address as openid-client reads it, after the URL parser tidies it up — so it must be
   * written in that form too (`https://login.microsoftonline.com:443/common/v2.0` or `…\common`
   * would otherwise pass a check of the raw text and become the refused address).
   */
  function refuseLooseIssuer(issuer: string): void {
    const url = new URL(issuer);
    if (issuer !== url.href && `${issuer}/` !== url.href) {
      throw new AppError('invalid_request', `issuer: write it in its plain form (${url.href.replace(/\/$/, '')}).`);
    }
    if (url.pathname.toLowerCase().includes('/.well-known/')) throw new AppError('invalid_request', 'issuer: give the issuer itself, not its discovery document.');
    const firstSegment = url.pathname.split('/')[1]?.toLowerCase() ?? '';
    if ((url.hostname === 'login.microsoftonline.com' && ['common', 'organizations', 'consumers'].includes(firstSegment)) || url.hostname.endsWith('.b2clogin.com')) {
      throw new AppError('invalid_request', "issuer: use your own tenant's issuer (https://login.microsoftonline.com/<tenant id>/v2.0), not a multi-tenant one.");
    }
  }

  async function configure(orgId: string, input: SsoConfigInput, actor: Actor): Promise<SsoView> {
    deps.checkIssuer(input.issuer);
    const seal = await deps.cipher.sealer(orgScope(orgId));
    const emailDomains = [...new Set(input.emailDomains.map((d) => d.toLowerCase()))];
    refuseLooseIssuer(input.issuer);
    // Held until it commits: a lockdown's revocation of the caller either waits and then turns this SSO off, or refuses it.
    const { view, endsSessions } = await withTenantHolding(db, orgId, actor.principal, async (tx) => {
      const before = await store.config(tx);
      // A PUT that leaves these out (a script rotating the secret) must not lift a requirement or
      // turn a disabled SSO back on.
      const enabled = input.enabled ?? before?.enabled ?? true;
      const required = input.required ?? before?.required ?? false;
      await store.saveConfig(
        tx,
        { org_id: orgId, issuer: input.issuer, client_id: input.clientId, client_secret: seal(input.clientSecret, secretAad(orgId)), email_domains: emailDomains, default_role: input.defaultRole, enabled, required },
        deps.clock.now(),
      );
      await deps.audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'org.sso_configured',
        target: { type: 'org', id: orgId },
        ip: actor.ip,
        metadata: { issuer: input.issuer, clientId: input.clientId, emailDomains, defaultRole: input.defaultRole, enabled, required },
      });
      await domains.sync(tx, orgId, emailDomains);
      const domainViews = await domains.list(tx);
      // Required with nobody able to sign in through it would lock every member but the owners out.
      if (required && !(enabled && domainViews.some((d) => d.verified))) {
        throw new AppError('invalid_request', 'SSO can be required only once it is enabled and one of its domains is proven (POST /v1/orgs/{orgId}/sso/domains/{domain}/verify).', {
          details: { errors: [{ field: 'body.required', message: 'needs enabled SSO with a proven domain' }] },
        });
      }
      // Sessions the old provider started no longer count once it is off or replaced.
      const endsSessions = before !== undefined && ((before.enabled && !enabled) || before.issuer !== input.issuer || before.client_id !== input.clientId);
      return { view: await viewIn(tx, orgId, domainViews), endsSessions };
    });
    if (endsSessions) await deps.accounts.federation.endSsoSessions(orgId);
    discovered.delete(orgId);
    await deps.directoryChanged(['*']); // open event streams check their access again
    return view as SsoView;
  }

  /** Checks the domain's TXT record and, if it holds the token, marks the domain proven (audited). */
  async function verifyDomain(orgId: string, domain: string, actor: Actor): Promise<DomainView> {
    const token = await withTenant(db, orgId, (tx) => domains.token(tx, domain));
    if (!token) throw new AppError('not_found', "This domain is not one of the organisation's SSO domains.");
    if (!(await publishes(deps.resolveTxt, domain, token))) {
      throw new AppError('invalid_request', `The TXT record was not found: publish it at ${challengeName(domain)} and try again (DNS may take a while).`);
    }
    return withTenant(db, orgId, async (tx) => {
      if (!(await domains.markVerified(tx, domain, token, deps.clock.now()))) {
        throw new AppError('conflict', 'The domain was removed or added again meanwhile: publish its new TXT record and try again.');
      }
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'org.sso_domain_verified', target: { type: 'org', id: orgId }, ip: actor.ip, metadata: { domain } });
      return (await domains.list(tx)).find((d) => d.domain === domain) as DomainView;
    });
  }

  async function remove(orgId: string, actor: Actor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      if (!(await store.removeConfig(tx))) throw new AppError('not_found', 'This organisation has no single sign-on.');
      await domains.sync(tx, orgId, []); // proven domains are released for good
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'org.sso_removed', target: { type: 'org', id: orgId }, ip: actor.ip });
    });
    discovered.delete(orgId);
    await deps.accounts.federation.endSsoSessions(orgId);
    await deps.directoryChanged(['*']);
  }

  async function clientFor(orgId: string): Promise<{ oidc: OidcClient; config: NonNullable<Awaited<ReturnType<SsoStore['config']>>> }> {
    const config = await withTenant(db, orgId, (tx) => store.config(tx));
    if (!config?.enabled) throw new AppError('not_found', 'This organisation has no single sign-on.');
    deps.checkIssuer(config.issuer); // today's rules, not those of the day it was saved
    const key = `${config.issuer}\n${config.client_id}\n${new Date(config.updated_at).getTime()}`;
    const cached = discovered.get(orgId);
    const now = deps.clock.now().getTime();
    if (cached && cached.key === key && cached.until > now) return { oidc: cached.oidc, config };
    // A provider that just failed is not called again for a while: each call is an outbound
    // look-up and connection, and /start is open to anyone.
    const failedAt = failed.get(orgId);
    if (failedAt && failedAt.key === key && failedAt.until > now) throw new AppError('provider_error', "The organisation's identity provider could not be reached.");
    const clientSecret = await deps.cipher.decrypt(config.client_secret, secretAad(orgId));
    try {
      const oidc = await discoverOidc({ issuer: config.issuer, clientId: config.client_id, clientSecret, fetch: deps.fetch, allowHttp: deps.allowHttp });
      for (const [id, entry] of discovered) if (entry.until <= now) discovered.delete(id); // expired ones go
      discovered.set(orgId, { key, oidc, until: now + DISCOVERY_CACHE_MS });
      failed.delete(orgId);
      return { oidc, config };
    } catch (error) {
      for (const [id, entry] of failed) if (entry.until <= now) failed.delete(id);
      failed.set(orgId, { key, until: now + FAILED_DISCOVERY_MS });
      deps.log.warn({ err: error, orgId }, 'SSO: the identity provider could not be discovered');
      throw new AppError('provider_error', "The organisation's identity provider could not be reached.");
    }
  }

  /** The organisation a sign-in link names, if it has SSO configured (a directory read by slug). */
  async function orgOfSlug(orgSlug: string): Promise<string | undefined> {
    return (await store.orgBySlug(db, orgSlug)) ?? undefined;
  }

  /** Where to send the browser, and the value its binding cookie must hold for the callback. */
  async function start(orgId: string): Promise<{ location: string; browserToken: string }> {
    const { oidc } = await clientFor(orgId);
    const state = pkce.random();
    const nonce = pkce.random();
    const codeVerifier = pkce.verifier();
    const browserToken = randomBytes(32).toString('base64url');
    await store.pruneLogins(db, deps.clock.now());
    await store.startLogin(db, {
      state_hash: sha256Hex(state),
      browser_hash: sha256Hex(browserToken),
      org_id: orgId,
      nonce,
      code_verifier: codeVerifier,
      expires_at: new Date(deps.clock.now().getTime() + LOGIN_TTL_MS),
    });
    const location = oidc.authorizationUrl({ redirectUri, state, nonce, codeChallenge: await pkce.challenge(codeVerifier) }).toString();
    return { location, browserToken };
  }

  /** The provider's answer: the account it signs in, with a new session. */
  async function finish(callbackQuery: URLSearchParams, browserToken: string | undefined, client: { ip: string; userAgent: string | null }) {
    const state = callbackQuery.get('state');
    if (!state || !browserToken) throw refused();
    // Taken once, only by the browser that started it (a callback link sent to someone else signs nobody in).
    const login = await store.takeLogin(db, sha256Hex(state), sha256Hex(browserToken), deps.clock.now());
    if (!login) throw refused();
    const { oidc, config } = await clientFor(login.org_id);
    let claims: Record<string, unknown>;
    try {
      const callbackUrl = new URL(redirectUri);
      callbackQuery.forEach((value, key) => callbackUrl.searchParams.set(key, value));
      claims = await oidc.exchange(callbackUrl, { state, nonce: login.nonce, codeVerifier: login.code_verifier });
    } catch (error) {
      deps.log.warn({ err: error, orgId: login.org_id }, 'SSO: the authorisation response was refused');
      throw refused();
    }
    const orgId = login.org_id;
    const subject = typeof claims.sub === 'string' ? claims.sub : '';
    const claimed = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
    const email = z.email().max(254).safeParse(claimed).success ? claimed : '';
    const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : null;
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const proven = config.email_domains.includes(domain) && (await withTenant(db, orgId, (tx) => domains.isVerified(tx, domain)));
    if (!subject || !email.includes('@') || claims.email_verified !== true || !proven) {
      deps.log.warn({ orgId, emailVerified: claims.email_verified === true, domainProven: proven }, 'SSO: the identity was refused');
      throw refused();
    }

    const mfa = providerReportedMfa(claims);
    const result = await db.transaction().execute(async (tx) => {
      // The configuration may have changed while the provider answered (a lockdown turned SSO off,
      // an owner pointed it elsewhere): checked again, and held until this sign-in commits, so a
      // change either waits for it (and then ends its session) or refuses it.
      const now = await store.configForShare(tx, orgId);
      if (!now?.enabled || now.issuer !== config.issuer || now.client_id !== config.client_id) {
        deps.log.warn({ orgId }, 'SSO: the configuration changed during the sign-in');
        throw refused();
      }
      const linked = await store.identity(tx, orgId, config.issuer, subject);
      let userId = linked?.user_id;
      let created = false;
      if (!userId) {
        const existing = await deps.accounts.federation.findUser(tx, email);
        // Only an account this organisation's SSO made, and that no identity signs in yet: an
        // address is never a way into an account someone else's identity (or password) owns —
        // not for another provider an admin configures, nor for an address re-used at the provider.
        if (existing && (existing.federated_org_id !== orgId || (await store.hasIdentity(tx, orgId, existing.id)))) {
          deps.log.warn({ orgId }, 'SSO: the address belongs to an account this identity may not sign in');
          throw refused();
        }
        userId = existing?.id ?? (await deps.accounts.federation.createUser(tx, { email, name, orgId }));
        created = !existing;
      }
      const session = await deps.accounts.federation.startSession(tx, userId, client, { orgId, mfa });
      await enterTenant(tx, orgId);
      if (!linked) await store.link(tx, { org_id: orgId, issuer: config.issuer, subject, user_id: userId });
      const principal = { kind: 'user' as const, userId, sessionId: session.id, email };
      if (created) {
        const invitationsWithdrawn = await deps.orgs.addFederatedMember(tx, orgId, userId, config.default_role);
        await deps.audit.record(tx, { orgId, actor: principal, action: 'member.added_by_sso', target: { type: 'user', id: userId }, ip: client.ip, metadata: { role: config.default_role, issuer: config.issuer, invitationsWithdrawn } });
      } else if (!(await deps.orgs.isMember(tx, orgId, userId))) {
        // Removed since: removal holds (SSO does not bring anyone back).
        deps.log.warn({ orgId }, 'SSO: no longer a member');
        throw refused();
      }
      if (!linked) {
        // From now on only this identity signs the account in: which one took it, and whether by its address.
        await deps.audit.record(tx, { orgId, actor: principal, action: 'sso.identity_linked', target: { type: 'user', id: userId }, ip: client.ip, metadata: { issuer: config.issuer, subject, byEmail: !created } });
      }
      await deps.audit.record(tx, { orgId, actor: principal, action: 'user.login', target: { type: 'user', id: userId }, ip: client.ip, metadata: { method: 'sso', issuer: config.issuer, providerMfa: mfa } });
      return { userId, session };
    });
    await deps.directoryChanged([result.userId]);
    return result.session;
  }

  /**
   * A lockdown, in its transaction: SSO is turned off, so an intruder holding an account at the
   * provider (or the provider itself) cannot sign straight back in; sign-ins under way fail at the
   * callback (clientFor reads `enabled`). An owner turns it back on with the configuration.
   */
  async function lockDownIn(tx: Tx, orgId: string): Promise<boolean> {
    return store.disable(tx, orgId);
  }

  /**
   * How many owners of the organisation can sign in with a password: a lockdown leaves SSO on when
   * none can (turning it off would leave nobody able to turn it back on). Read as the directory's owner.
   */
  const ownersWithPassword = (orgId: string): Promise<number> => store.ownersWithPassword(db, orgId);

  /**
   * What provisioning (modules/scim) needs to make an account: the role new members get and the
   * proven domains of the configuration; null when the organisation has no SSO. In the caller's
   * tenant transaction, the configuration locked for share until it ends: neither SSO nor a
   * domain's proof goes while an account is made under it.
   */
  async function provisioningPolicyIn(tx: Tx, orgId: string): Promise<ProvisioningPolicy | null> {
    const config = await store.configForShare(tx, orgId);
    if (!config) return null;
    const provenDomains = (await domains.list(tx)).filter((d) => d.verified && config.email_domains.includes(d.domain)).map((d) => d.domain);
    return { defaultRole: config.default_role, provenDomains };
  }

  return { get, configure, remove, verifyDomain, start, orgOfSlug, finish, lockDownIn, ownersWithPassword, provisioningPolicyIn, redirectUri };
}

export type SsoService = ReturnType<typeof createSsoService>;
