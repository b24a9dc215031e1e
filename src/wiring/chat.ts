/**
 * Wiring of the chatbot side: knowledge, PII, chat, and the public widget routes. Split from
 * app.ts by area; like app.ts it only connects modules.
 */
import { hkdfSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { InvalidationBus } from '../platform/cache/invalidation.ts';
import type { Clock } from '../platform/clock.ts';
import { erasureCheck } from '../platform/crypto/erasure.ts';
import type { ShredOwed } from '../platform/crypto/pending-shreds.ts';
import type { CryptoService } from '../platform/crypto/service.ts';
import { orgScope } from '../platform/crypto/types.ts';
import type { DB } from '../platform/db/tables.ts';
import type { Authenticator } from '../platform/http/authenticate.ts';
import type { App } from '../platform/http/types.ts';
import type { AuditService } from '../modules/audit/service.ts';
import type { Outbox } from '../platform/outbox.ts';
import { createAnswerProvider } from '../modules/chat/answer-providers/index.ts';
import { contentCipher } from '../modules/chat/content-cipher.ts';
import { createEndpointPolicy } from '../modules/answer-keys/endpoint-policy.ts';
import { answerKeyRoutes } from '../modules/answer-keys/routes.ts';
import { createAnswerKeyService } from '../modules/answer-keys/service.ts';
import { chatRoutes } from '../modules/chat/routes.ts';
import { createChatService } from '../modules/chat/service.ts';
import { createChatStore } from '../modules/chat/store.ts';
import { knowledgeRoutes } from '../modules/knowledge/routes.ts';
import { createKnowledgeService } from '../modules/knowledge/service.ts';
import type { Access } from '../modules/orgs/access.ts';
import { createPiiEntities } from '../modules/pii/entities.ts';
import type { PiiDetectedEvent } from '../modules/pii/events.ts';
import { piiRoutes } from '../modules/pii/routes.ts';
import { createPiiService } from '../modules/pii/service.ts';
import { createErasureService } from '../modules/privacy/erasure.ts';
import { createOrgExport } from '../modules/privacy/export.ts';
import { privacyRoutes } from '../modules/privacy/routes.ts';
import { createProjectDirectory, PROJECTS_TOPIC } from '../modules/projects/directory.ts';
import type { RateLimitService } from '../modules/rate-limits/service.ts';
import { textWorkCharge } from '../modules/rate-limits/text-work.ts';
import { createOriginGuard, type OriginRefusal } from '../modules/widget/origin-guard.ts';
import { createRefusalRecorder } from '../modules/widget/refusals.ts';
import { identityRoutes } from '../modules/widget/identity-routes.ts';
import { widgetRoutes } from '../modules/widget/routes.ts';
import { widgetScriptRoute } from '../modules/widget/static.ts';
import { createVisitorTokens } from '../modules/widget/visitor-token.ts';
import type { Listener } from '../platform/listeners.ts';
import { createVisitorService } from '../modules/widget/visitors.ts';

const rootDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function wireChat(
  app: App,
  deps: {
    config: Config;
    db: Kysely<DB>;
    clock: Clock;
    crypto: CryptoService;
    shredOwed: ShredOwed;
    invalidation: InvalidationBus;
    audit: AuditService;
    access: Access;
    auth: Authenticator;
    rateLimits: RateLimitService;
    onOriginRefused?: Listener<OriginRefusal> | undefined;
    onPiiDetected?: Listener<PiiDetectedEvent> | undefined;
    /** The webhooks' outbox, for pii.detected (written in the message's transaction). */
    outbox?: Outbox | undefined;
  },
) {
  const { db, clock, crypto } = deps;
  const projectDirectory = createProjectDirectory({ db, invalidation: deps.invalidation, clock });
  const knowledge = createKnowledgeService({ db, audit: deps.audit });
  const cipher = contentCipher(crypto.cipher);
  // One for the chat and the PII entities: the tombstones it has found serve both.
  const erased = erasureCheck(db);
  const pii = createPiiService({ db, cipher, keyring: crypto.keyring });
  const answerKeys = createAnswerKeyService({ db, cipher: crypto.cipher, audit: deps.audit, clock });
  const endpoints = createEndpointPolicy({ keys: answerKeys, operator: deps.config.operatorAnswerEndpoint, allowPrivateNetworks: deps.config.answerAllowPrivateNetworks });
  const chat = createChatService({
    db,
    erased,
    store: createChatStore(),
    cipher,
    retriever: knowledge,
    providerFor: (project) =>
      createAnswerProvider(
        project.settings.answer,
        project.settings.answer.provider === 'openai-compatible'
          ? { apiKey: endpoints.keyFor(project, project.settings.answer.baseUrl), fetch: endpoints.fetchFor(project.settings.answer.baseUrl) }
          : {},
      ),
    pii,
    clock,
    audit: deps.audit,
    onPiiDetected: deps.onPiiDetected,
    outbox: deps.outbox,
    onHookError: (error) => app.log.error({ err: error }, 'the pii.detected hook failed'),
  });

  // One platform-wide key (wrapped by the master key like every data key) signs visitor tokens,
  // so every instance agrees and a restart keeps sessions valid.
  await crypto.keyring.currentKey(orgScope('platform'));
  const platformKey = await crypto.keyring.keyFor(orgScope('platform'), 1);
  const tokenSecret = new Uint8Array(hkdfSync('sha256', platformKey.key, Buffer.alloc(0), 'palisade visitor tokens v1', 32));
  const tokens = createVisitorTokens(tokenSecret, deps.config.publicUrl);
  const visitors = createVisitorService({
    db,
    cipher: crypto.cipher,
    hashKey: pii.hashKey,
    audit: deps.audit,
    clock,
    projectChanged: (projectId) => deps.invalidation.publish(PROJECTS_TOPIC, [projectId]),
  });
  const recordRefusal = createRefusalRecorder({ db, audit: deps.audit, clock, onRefusal: deps.onOriginRefused, log: (error) => app.log.error({ err: error }, 'recording a widget refusal failed') });
  const guard = createOriginGuard({ projects: projectDirectory, onRefusal: recordRefusal });

  const chargeTextWork = textWorkCharge(deps.rateLimits, deps.config.textWorkKilocharsPerMinute);
  await app.register(knowledgeRoutes({ knowledge, access: deps.access, auth: deps.auth, chargeTextWork }));
  await app.register(chatRoutes({ chat, projects: projectDirectory, access: deps.access, auth: deps.auth, rateLimits: deps.rateLimits }));
  await app.register(widgetRoutes({ guard, tokens, visitors, chat, rateLimits: deps.rateLimits, clock }));
  await app.register(widgetScriptRoute({ rootDir }));
  await app.register(identityRoutes({ visitors, access: deps.access, auth: deps.auth }));
  await app.register(answerKeyRoutes({ answerKeys, access: deps.access, auth: deps.auth }));
  const entities = createPiiEntities({ db, cipher, erased, audit: deps.audit });
  await app.register(piiRoutes({ entities, conversations: chat, projects: projectDirectory, access: deps.access, auth: deps.auth, chargeTextWork }));
  const erasure = createErasureService({
    db,
    clock,
    audit: deps.audit,
    entities,
    hashKey: pii.hashKey,
    shredOwed: deps.shredOwed,
    sealer: cipher.sealer,
  });
  const orgExport = createOrgExport({ db, cipher, erased });
  await app.register(privacyRoutes({ erasure, orgExport, access: deps.access, auth: deps.auth, db, audit: deps.audit, clock }));

  return { knowledge, chat, pii, visitors, projectDirectory, originGuard: guard, erasure };
}

export type ChatServices = Awaited<ReturnType<typeof wireChat>>;
