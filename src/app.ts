/**
 * buildApp(deps): wires the modules into one Fastify instance. All wiring happens here; the
 * modules receive their dependencies and know nothing of each other's internals.
 */
import { randomUUID } from 'node:crypto';
import { clientErrorHandler } from './platform/http/client-errors.ts';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { wireChat, type ChatServices } from './wiring/chat.ts';
import type { OriginRefusal } from './modules/widget/origin-guard.ts';
import type { PiiDetectedEvent } from './modules/pii/events.ts';
import type { Database } from './platform/db/driver.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import { createMemoryPubSub, createRedisPubSub, type PubSub } from './platform/cache/pubsub.ts';
import { createInvalidationBus } from './platform/cache/invalidation.ts';
import { createCryptoService, type CryptoService } from './platform/crypto/service.ts';
import { createCrypto, type Crypto } from './platform/crypto/setup.ts';
import { createAuthenticator } from './platform/http/authenticate.ts';
import { installConnectionCap } from './platform/http/connection-cap.ts';
import { installFramingPolicy } from './platform/http/framing.ts';
import { installRouteLabels } from './platform/http/route-label.ts';
import { installJsonParser } from './platform/http/json-parser.ts';
import { installClosingRefusal } from './platform/http/closing.ts';
import { installNulGuard } from './platform/http/nul-guard.ts';
import { serverOptions } from './platform/http/limits.ts';
import { installSecurityHeaders, securityHeaderProfiles } from './platform/http/security-headers.ts';
import { installErrorHandler, sendProblem } from './platform/http/error-handler.ts';
import { healthRoutes } from './platform/http/health.ts';
import { securityTxtRoutes } from './platform/http/security-txt.ts';
import { createMetrics } from './platform/metrics/metrics.ts';
import { installRequestMetrics, metricsRoutes } from './platform/metrics/routes.ts';
import { loggerOptions } from './platform/http/logging.ts';
import { lazyChildLogger } from './platform/http/request-logger.ts';
import './platform/http/principal.ts';
import type { App } from './platform/http/types.ts';
import { createLoginThrottle, defaultLoginThrottle, type LoginThrottleOptions } from './modules/accounts/login-throttle.ts';
import { accountRoutes, sessionCookie } from './modules/accounts/routes.ts';
import { DIRECTORY_TOPIC, SESSIONS_OF_USER_TOPIC, SESSIONS_TOPIC, createAccountService } from './modules/accounts/service.ts';
import { createAccountStore } from './modules/accounts/store.ts';
import { createRecoveryCodeStore } from './modules/accounts/recovery-code-store.ts';
import { totpRoutes } from './modules/accounts/totp-routes.ts';
import { createTotpService } from './modules/accounts/totp-service.ts';
import { createPasswordChanger } from './modules/accounts/password-change.ts';
import { createTotpStore } from './modules/accounts/totp-store.ts';
import { createApiKeyModule, type ApiKeyModuleOptions } from './modules/api-keys/module.ts';
import { API_KEYS_TOPIC } from './modules/api-keys/cache.ts';
import { apiKeyRoutes } from './modules/api-keys/routes.ts';
import { createAccessLog, type AccessLog } from './modules/api-keys/access-log.ts';
import { accessLogRoutes, installAccessLogging } from './modules/api-keys/access-log-http.ts';
import { installKeyFirstAuthentication } from './modules/api-keys/key-first.ts';
import type { ApiKeyService } from './modules/api-keys/service.ts';
import { auditRoutes } from './modules/audit/routes.ts';
import { eventStreamRoutes } from './modules/audit/event-stream.ts';
import { createAuditService } from './modules/audit/service.ts';
import { createAccess } from './modules/orgs/access.ts';
import { lockdownRoutes } from './modules/orgs/lockdown.ts';
import { orgRoutes } from './modules/orgs/routes.ts';
import { createOrgService } from './modules/orgs/service.ts';
import { createOrgStore } from './modules/orgs/store.ts';
import { projectRoutes } from './modules/projects/routes.ts';
import { createProjectService } from './modules/projects/service.ts';
import { createProjectStore } from './modules/projects/store.ts';
import { installRateLimitHeaders } from './modules/rate-limits/http.ts';
import { clientKeyForIp, logNetworkOf } from './modules/rate-limits/ip.ts';
import { isLocalNetworkAddress } from './platform/net/public-address.ts';
import { createRateLimits, redisKeyPrefix } from './modules/rate-limits/module.ts';
import type { PenaltyPolicy } from './modules/rate-limits/penalty-state.ts';
import type { RefusalCounter } from './modules/rate-limits/refusals.ts';
import { rateLimitRoutes } from './modules/rate-limits/routes.ts';
import type { Listener } from './platform/listeners.ts';
import { createRetention, type Retention } from './modules/chat/retention.ts';
import { owedShredder } from './platform/crypto/pending-shreds.ts';
import type { RateLimitService, RefusalEvent } from './modules/rate-limits/service.ts';
import { createWebhookOutbox, createWebhooks } from './modules/webhooks/module.ts';
import { webhookRoutes } from './modules/webhooks/routes.ts';
import { createSsoService } from './modules/sso/service.ts';
import { createSsoStore } from './modules/sso/store.ts';
import { systemResolveTxt } from './modules/sso/domains.ts';
import { ssoRoutes } from './modules/sso/routes.ts';
import { scimRoutes } from './modules/scim/routes.ts';
import { createScimService } from './modules/scim/service.ts';
import { createUrlPolicy } from './platform/net/outbound-url.ts';
import type { Webhooks } from './modules/webhooks/module.ts';

export interface AppDeps {
  /** Called on every refused widget request (the events module connects webhooks here). */
  onOriginRefused?: Listener<OriginRefusal>;
  /** Called when a visitor's message contained PII: counts per type, never values (`pii.detected`). */
  onPiiDetected?: Listener<PiiDetectedEvent>;
  config: Config;
  database: Database;
  redis?: Redis | undefined;
  clock?: Clock;
  /** Overrides for tests (e.g. a tighter login throttle). */
  loginThrottle?: Partial<Omit<LoginThrottleOptions, 'redis' | 'prefix'>>;
  /** Revocation fan-out; default: Redis pub/sub when config.redisUrl is set, else in memory. */
  pubsub?: PubSub;
  /** Called on every rate-limit refusal (the events module connects here). */
  onRateLimitRefusal?: Listener<RefusalEvent>;
  apiKeys?: Partial<Omit<ApiKeyModuleOptions, 'requestsPerMinute'>>;
  penaltyPolicy?: Partial<PenaltyPolicy>;
  /** Redis key prefix of rate-limit counters, blocks and login throttling (default `palisade:`). */
  rateLimitPrefix?: string;
  /** DNS TXT look-ups for SSO domain proofs (tests answer them; default: the system's resolver). */
  resolveTxt?: (name: string) => Promise<string[][]>;
  /** Event stream timings (tests): how often streams read the log and re-check credentials. */
  eventStream?: { pollMs?: number; recheckMs?: number; maxPerOrg?: number; maxPerAddress?: number };
  /** A crypto layer built elsewhere (server start-up, tests); default: built from config. */
  crypto?: Crypto;
}

export interface Services {
  accounts: ReturnType<typeof createAccountService>;
  orgs: ReturnType<typeof createOrgService>;
  projects: ReturnType<typeof createProjectService>;
  audit: ReturnType<typeof createAuditService>;
  apiKeys: ApiKeyService;
  /** checkMessage() for the chat path; memory or Redis (shared) counters. */
  rateLimits: RateLimitService;
  rateLimitRefusals: RefusalCounter;
  /** Encryption at rest: cipher.encrypt/decrypt, keyring, shred(orgId, subjectId). */
  crypto: CryptoService;
  /** Deletes conversations older than their project's retentionDays (also on a timer). */
  retention: Retention;
  knowledge: ChatServices['knowledge'];
  chat: ChatServices['chat'];
  pii: ChatServices['pii'];
  visitors: ChatServices['visitors'];
  projectDirectory: ChatServices['projectDirectory'];
  originGuard: ChatServices['originGuard'];
  /** Erasure requests: a person's conversations, visitor record and keys, for good. */
  erasure: ChatServices['erasure'];
  /** Webhooks: their service, and the dispatcher that sends the outbox (also on a timer). */
  webhooks: Webhooks;
  /** Requests made with API keys; flush() writes what is pending (tests). */
  accessLog: AccessLog;
}

/** Keys owed a shred (one that failed, or was left mid-way) are retried at least this often. */
const SHRED_RETRY_MINUTES = 15;

/**
 * The retention sweep: a minute after start (not in the way of start-up), then every `minutes`;
 * 0 turns the sweep off (another instance, or a scheduler calling it, does the work). Owed shreds
 * are retried every SHRED_RETRY_MINUTES whatever the sweep's period, 0 and a weekly one included:
 * an erased person's key must not outlive a failed shred by days. A failed sweep is logged and
 * tried again next time.
 */
function scheduleRetention(app: App, retention: Retention, minutes: number, shredOwed: () => Promise<unknown>): void {
  const retry = setInterval(() => void shredOwed().catch((error: unknown) => app.log.error({ err: error }, 'retrying owed key shreds failed')), SHRED_RETRY_MINUTES * 60_000).unref();
  app.addHook('onClose', async () => clearInterval(retry));
  if (minutes <= 0) return;
  const run = (): void => {
    retention.sweep().then(
      (swept) => swept.conversations > 0 && app.log.info(swept, 'retention: conversations past their project\'s retentionDays deleted'),
      (error: unknown) => app.log.error({ err: error }, 'retention sweep failed'),
    );
  };
  const first = setTimeout(run, 60_000).unref();
  const every = setInterval(run, minutes * 60_000).unref();
  app.addHook('onClose', async () => {
    clearTimeout(first);
    clearInterval(every);
  });
}

/**
 * Fastify's form of TRUST_PROXY. `true` trusts one hop, never every hop: Fastify's own `true`
 * believes the left-most X-Forwarded-For entry, which the client wrote. With a hop count, the
 * peer itself must be at a loopback or private address: otherwise a client reaching the server
 * directly would be taken for the proxy and could name any address it likes (a proxy elsewhere is
 * listed by address or CIDR instead). The hops behind it are the ones it forwarded.
 */
export function proxyTrust(setting: Config['trustProxy']): false | string[] | ((address: string, hop: number) => boolean) {
  if (Array.isArray(setting) || setting === false) return setting;
  const hops = setting === true ? 1 : setting;
  // The peer's address comes from the socket: a plain IP (IPv4-mapped ones are judged as IPv4).
  return (address, hop) => hop < hops && (hop > 0 || isLocalNetworkAddress(address));
}

export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; services: Services }> {
  const { config, database } = deps;
  const db = database.db;
  const clock = deps.clock ?? systemClock;

  const securityHeaders = securityHeaderProfiles({
    hsts: config.tls || config.publicUrl.startsWith('https:') ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  const app = Fastify({
    // Replies Fastify sends before any hook (a URL it cannot decode) still get the headers and the
    // problem+json of every other error, and never echo the URL.
    frameworkErrors: (_error, _request, reply) => {
      reply.headers(securityHeaders.api);
      sendProblem(reply, 'invalid_request', 'The request could not be read: a malformed URL or header.');
    },
    logger: loggerOptions(config.logLevel, logNetworkOf),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: proxyTrust(config.trustProxy),
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    childLoggerFactory: lazyChildLogger,
    return503OnClosing: false, // platform/http/closing.ts refuses instead, with the security headers
    clientErrorHandler: clientErrorHandler(securityHeaders.api),
    ...serverOptions(config.httpLimits, config.tls),
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  // Only when a scraper may read them: without METRICS_TOKEN no request pays for them.
  const metrics = config.metricsToken ? createMetrics() : undefined;
  if (metrics) installRequestMetrics(app as unknown as FastifyInstance, metrics);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  installErrorHandler(app);
  installJsonParser(app as unknown as FastifyInstance, config.httpLimits.jsonMaxDepth);
  installRateLimitHeaders(app as unknown as FastifyInstance);
  installFramingPolicy(app as unknown as FastifyInstance);
  // Usage counting of API keys needs them; the public widget routes (visitor tokens) do not.
  installRouteLabels(app as unknown as FastifyInstance, '/v1/', ['/v1/widget/']);
  installConnectionCap(app.server, config.httpLimits.maxConnectionsPerIp, clientKeyForIp);
  app.server.maxConnections = config.httpLimits.maxConnections;

  await app.register(cookie, { hook: false }); // parsed on first read: platform/http/cookies.ts
  installSecurityHeaders(app as unknown as FastifyInstance, { profiles: securityHeaders, pagePrefixes: ['/docs'] });
  installNulGuard(app as unknown as FastifyInstance); // after the headers' hook: its refusals carry them
  installClosingRefusal(app as unknown as FastifyInstance); // likewise
  await app.register(swagger, {
    openapi: {
      info: { title: 'Palisade API', version: '0.1.0', description: 'Self-hostable, security-first chatbot platform.' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: sessionCookie(config.publicUrl).name },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: false } });

  // Before anything opens a connection: a missing or bad master key must stop start-up here.
  const cryptoParts = deps.crypto ?? (await createCrypto({ db, config, log: app.log, clock }));
  // After a dropped Redis connection, invalidations may have been missed: every cache starts over.
  const ownPubsub = deps.pubsub
    ? undefined
    : config.redisUrl
      ? createRedisPubSub(config.redisUrl, { onReconnect: () => invalidation.flushAll() })
      : createMemoryPubSub();
  const pubsub = deps.pubsub ?? ownPubsub ?? createMemoryPubSub();
  const invalidation = createInvalidationBus(pubsub, {
    onMissedEcho: (topic) =>
      app.log.error({ topic }, 'A cache invalidation was not confirmed through Redis within 2 s: other instances apply it when their cache entries expire (30 s at most).'),
  });
  await invalidation.start();
  const crypto = createCryptoService({ db, cipher: cryptoParts.cipher, keyring: cryptoParts.keyring, invalidation, clock });
  // One for retention, erasure and project deletion: each shreds the keys its deletions owe.
  const shredOwed = owedShredder(db, (orgId, subjectId) => crypto.shred(orgId, subjectId), (error) =>
    app.log.error({ err: error }, 'a key owed a shred could not be shredded: the next retention sweep tries again'),
  );
  app.addHook('onClose', async () => {
    await invalidation.stop();
    await ownPubsub?.close();
  });

  // Every audited change also queues its webhook deliveries, in its own transaction.
  const outbox = createWebhookOutbox();
  const audit = createAuditService({ outbox });
  const webhooks = createWebhooks({ db, cipher: crypto.cipher, audit, clock, allowPrivateNetworks: config.webhookAllowPrivateNetworks, log: app.log, onAttempt: metrics?.delivery });
  webhooks.start(config.webhookDeliveryIntervalMs);
  app.addHook('onClose', () => webhooks.stop());
  const accountStoreForOrgs = createAccountStore();
  const orgs = createOrgService({
    db,
    store: createOrgStore(),
    audit,
    federatedOrgOf: accountStoreForOrgs.federatedOrgOf,
    clock,
    publicUrl: config.publicUrl,
    directoryChanged: (userIds) => invalidation.publish(DIRECTORY_TOPIC, userIds),
  });
  const throttle = createLoginThrottle({ ...defaultLoginThrottle, ...deps.loginThrottle, redis: deps.redis, prefix: deps.rateLimitPrefix ?? redisKeyPrefix });
  const totp = createTotpService({
    db,
    store: createTotpStore(),
    recoveryCodes: createRecoveryCodeStore(),
    cipher: crypto.cipher,
    audit,
    throttle,
    clock,
    profileChanged: (userId) => invalidation.publish(DIRECTORY_TOPIC, [userId]),
    // The account service is built next (it needs the TOTP check at login); called only later.
    revokeOtherSessions: (principal, ip) => accounts.revokeOtherSessions(principal, ip),
  });
  const accountStore = createAccountStore();
  const accounts = createAccountService({
    db,
    store: accountStore,
    orgs,
    audit,
    throttle,
    totp,
    clock,
    sessionTtlHours: config.sessionTtlHours,
    sessionIdleMinutes: config.sessionIdleMinutes,
    invalidation,
    onBackgroundError: (error) => app.log.error({ err: error }, 'audit of a failed sign-in was not written'),
  });
  const projects = createProjectService({
    db,
    store: createProjectStore(),
    audit,
    clock,
    invalidation,
    shredOwed,
  });
  const access = createAccess({ db });
  const rateLimits = createRateLimits({
    redis: deps.redis,
    clock,
    onRefusal: metrics
      ? (event: RefusalEvent) => {
          metrics.refusal(event.dimension, event.cause);
          return deps.onRateLimitRefusal?.(event);
        }
      : deps.onRateLimitRefusal,
    penaltyPolicy: deps.penaltyPolicy,
    orgCeilingPerHour: config.orgMessagesPerHour,
    onStoreError: (error) => app.log.error({ err: error }, 'Redis did not answer a rate-limit command: this instance counts in memory meanwhile'),
    ...(deps.rateLimitPrefix ? { prefix: deps.rateLimitPrefix } : {}),
  });
  const apiKeyModule = createApiKeyModule({
    db,
    audit,
    clock,
    invalidation,
    rateLimits: rateLimits.service,
    options: { ...deps.apiKeys, requestsPerMinute: config.apiKeyRequestsPerMinute },
    onError: (error) => app.log.error({ err: error }, 'api key usage flush failed'),
  });
  await apiKeyModule.start();
  const accessLog = createAccessLog({ db, clock, onError: (error) => app.log.error({ err: error }, 'the API access log could not be written') });
  installAccessLogging(app as unknown as FastifyInstance, accessLog, clock, '/v1/', ['/v1/widget/']);
  accessLog.start();
  app.addHook('onClose', async () => {
    await apiKeyModule.stop();
    await accessLog.stop();
  });
  const cookieConfig = sessionCookie(config.publicUrl);
  const auth = createAuthenticator({
    apiKeys: apiKeyModule.verifier,
    sessions: {
      cookieName: cookieConfig.name,
      verify: (token, request, options) => accounts.verifySession(token, { ip: request.ip }, { touch: !options?.recheck }),
      csrfMatches: accounts.csrfMatches,
    },
  });
  // Not the widget (visitor tokens), nor sign-in and invitation routes (no key acts there).
  installKeyFirstAuthentication(app as unknown as FastifyInstance, auth, '/v1/', ['/v1/widget/', '/v1/auth/', '/v1/invitations/']);

  await app.register(healthRoutes({ db }));
  await app.register(metricsRoutes({ metrics, token: config.metricsToken }));
  await app.register(securityTxtRoutes({ contact: config.securityContact, publicUrl: config.publicUrl, clock }));
  const changePassword = createPasswordChanger({ totp, store: accountStore, revokeOtherSessions: accounts.revokeOtherSessions });
  await app.register(accountRoutes({ accounts, changePassword, auth, cookie: cookieConfig }));
  await app.register(totpRoutes({ totp, auth }));
  await app.register(orgRoutes({ orgs, access, auth }));
  await app.register(projectRoutes({ projects, access, auth }));
  await app.register(auditRoutes({ db, audit, access, auth, clock }));
  await app.register(
    eventStreamRoutes({ db, access, auth, clock, invalidation, recheckTopics: [SESSIONS_TOPIC, SESSIONS_OF_USER_TOPIC, API_KEYS_TOPIC, DIRECTORY_TOPIC], ...deps.eventStream }),
  );
  const issuers = createUrlPolicy({ allowPrivateNetworks: config.ssoAllowPrivateNetworks, field: 'issuer' });
  const sso = createSsoService({
    db,
    store: createSsoStore(),
    cipher: crypto.cipher,
    audit,
    accounts,
    orgs,
    clock,
    publicUrl: config.publicUrl,
    fetch: issuers.fetch,
    allowHttp: config.ssoAllowPrivateNetworks,
    checkIssuer: issuers.check,
    directoryChanged: (userIds) => invalidation.publish(DIRECTORY_TOPIC, userIds),
    log: app.log,
    resolveTxt: deps.resolveTxt ?? systemResolveTxt(),
  });
  await app.register(ssoRoutes({ sso, access, auth, cookie: cookieConfig, publicUrl: config.publicUrl }));
  const scim = createScimService({ db, audit, accounts, orgs, sso, directoryChanged: (userIds) => invalidation.publish(DIRECTORY_TOPIC, userIds) });
  await app.register(scimRoutes({ scim, access, auth, publicUrl: config.publicUrl }));
  await app.register(lockdownRoutes({ db, orgs, accounts, apiKeys: apiKeyModule.service, projects, webhooks: webhooks.service, sso, audit, access, auth, clock }));
  await app.register(webhookRoutes({ webhooks: webhooks.service, access, auth }));
  await app.register(apiKeyRoutes({ keys: apiKeyModule.service, access, auth }));
  await app.register(accessLogRoutes({ accessLog, access, auth }));
  await app.register(rateLimitRoutes({ rateLimits: rateLimits.service, access, auth, db, audit }));
  const chatSide = await wireChat(app, { config, db, clock, crypto, shredOwed, invalidation, audit, access, auth, rateLimits: rateLimits.service, onOriginRefused: deps.onOriginRefused, onPiiDetected: deps.onPiiDetected, outbox });

  const retention = createRetention({ db, clock, audit, shredOwed });
  scheduleRetention(app, retention, config.retentionSweepMinutes, () => shredOwed());

  return { app: app as unknown as FastifyInstance, services: {
      accounts,
      orgs,
      projects,
      audit,
      apiKeys: apiKeyModule.service,
      rateLimits: rateLimits.service,
      rateLimitRefusals: rateLimits.refusals,
      crypto,
      retention,
      webhooks,
      accessLog,
      ...chatSide,
    },
  };
}
