/**
 * buildApp(deps): wires the modules into one Fastify instance. All wiring happens here; the
 * modules receive their dependencies and know nothing of each other's internals.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Database } from './platform/db/driver.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import { createAuthenticator } from './platform/http/authenticate.ts';
import { installErrorHandler } from './platform/http/error-handler.ts';
import { healthRoutes } from './platform/http/health.ts';
import { loggerOptions } from './platform/http/logging.ts';
import './platform/http/principal.ts';
import type { App } from './platform/http/types.ts';
import { createUserDirectory } from './modules/accounts/directory.ts';
import { createLoginThrottle, defaultLoginThrottle } from './modules/accounts/login-throttle.ts';
import { accountRoutes, sessionCookie } from './modules/accounts/routes.ts';
import { createAccountService } from './modules/accounts/service.ts';
import { createAccountStore } from './modules/accounts/store.ts';
import { auditRoutes } from './modules/audit/routes.ts';
import { createAuditService } from './modules/audit/service.ts';
import { createAccess } from './modules/orgs/access.ts';
import { orgRoutes } from './modules/orgs/routes.ts';
import { createOrgService } from './modules/orgs/service.ts';
import { createOrgStore } from './modules/orgs/store.ts';
import { projectRoutes } from './modules/projects/routes.ts';
import { createProjectService } from './modules/projects/service.ts';
import { createProjectStore } from './modules/projects/store.ts';

export interface AppDeps {
  config: Config;
  database: Database;
  redis?: Redis | undefined;
  clock?: Clock;
  /** Overrides for tests (e.g. a tighter login throttle). */
  loginThrottle?: Partial<typeof defaultLoginThrottle>;
}

export interface Services {
  accounts: ReturnType<typeof createAccountService>;
  orgs: ReturnType<typeof createOrgService>;
  projects: ReturnType<typeof createProjectService>;
  audit: ReturnType<typeof createAuditService>;
}

export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; services: Services }> {
  const { config, database } = deps;
  const db = database.db;
  const clock = deps.clock ?? systemClock;

  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    ...(config.tls && {
      https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile), minVersion: 'TLSv1.3' as const },
    }),
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  installErrorHandler(app);

  await app.register(cookie);
  await app.register(helmet, {
    hsts: config.tls || config.publicUrl.startsWith('https:') ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"], baseUri: ["'none'"] } },
    referrerPolicy: { policy: 'no-referrer' },
  });
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

  const audit = createAuditService();
  const users = createUserDirectory({ db });
  const orgs = createOrgService({ db, store: createOrgStore(), audit, users, clock, publicUrl: config.publicUrl });
  const throttle = createLoginThrottle({ ...defaultLoginThrottle, ...deps.loginThrottle, redis: deps.redis });
  const accounts = createAccountService({
    db,
    store: createAccountStore(),
    orgs,
    audit,
    throttle,
    clock,
    sessionTtlHours: config.sessionTtlHours,
  });
  const projects = createProjectService({ db, store: createProjectStore(), audit, clock });
  const access = createAccess({ db });
  const cookieConfig = sessionCookie(config.publicUrl);
  const auth = createAuthenticator({
    sessions: {
      cookieName: cookieConfig.name,
      verify: (token, request) => accounts.verifySession(token, { ip: request.ip }),
      csrfMatches: accounts.csrfMatches,
    },
  });

  await app.register(healthRoutes({ db }));
  await app.register(accountRoutes({ accounts, auth, cookie: cookieConfig }));
  await app.register(orgRoutes({ orgs, access, auth }));
  await app.register(projectRoutes({ projects, access, auth }));
  await app.register(auditRoutes({ db, audit, access, auth }));

  return { app: app as unknown as FastifyInstance, services: { accounts, orgs, projects, audit } };
}
