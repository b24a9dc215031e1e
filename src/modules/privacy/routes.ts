/**
 * HTTP for privacy: erasure requests (`POST /v1/orgs/{orgId}/erasure-requests`, permission
 * `privacy:erase`) and the organisation's data export (`GET /v1/orgs/{orgId}/export`).
 */
import { z } from 'zod';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { Access } from '../orgs/access.ts';
import { erasureIdentifierTypes, type ErasureService } from './erasure.ts';
import type { OrgExport } from './export.ts';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { idSchema, orgParams } from '../../platform/http/id-params.ts';
import type { AuditService } from '../audit/service.ts';

const erasureRequest = z
  .strictObject({
    visitorId: idSchema('vis', 'a visitor id').optional(),
    identifier: z.strictObject({ type: z.enum(erasureIdentifierTypes), value: z.string().trim().min(1).max(500) }).optional(),
    dryRun: z.boolean().default(false),
    expectVisitors: z.number().int().min(1).max(1_000_000).optional(),
    expectConversations: z.number().int().min(1).max(100_000_000).optional(),
    expectMentions: z.number().int().min(1).max(100_000_000).optional(),
  })
  .refine((body) => (body.visitorId === undefined) !== (body.identifier === undefined), { message: 'Name the person by exactly one of visitorId or identifier.' });

/** The export's lines; a failure midway (the answer is already under way, so the connection just ends) is logged. */
async function* logFailure(lines: AsyncGenerator<string>, request: FastifyRequest): AsyncGenerator<string> {
  try {
    yield* lines;
  } catch (error) {
    request.log.error({ err: error }, 'organisation export failed midway');
    throw error;
  }
}

export function privacyRoutes(deps: { erasure: ErasureService; orgExport: OrgExport; access: Access; auth: Authenticator; db: Kysely<DB>; audit: Pick<AuditService, 'record'>; clock: Clock }) {
  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/export', {
      schema: {
        operationId: 'exportOrganisation',
        tags: ['privacy'],
        description:
          'Everything of the organisation as JSON lines: the organisation, members, projects, knowledge documents and every conversation with its messages and PII entities — as tokens, or with personalData=values (needs pii:reveal). Owners and admins (org:update); audited.',
        params: orgParams,
        querystring: z.strictObject({ personalData: z.enum(['tokens', 'values']).default('tokens') }),
      },
      handler: async (request, reply) => {
        const { orgId } = request.params;
        const principal = await deps.auth.require(request);
        const withValues = request.query.personalData === 'values';
        await deps.access.authorize(principal, orgId, withValues ? ['org:update', 'pii:reveal'] : 'org:update');
        const now = deps.clock.now();
        await withTenant(deps.db, orgId, (tx) =>
          deps.audit.record(tx, { orgId, actor: principal, action: 'org.exported', target: { type: 'org', id: orgId }, ip: request.ip, metadata: { personalData: request.query.personalData } }),
        );
        return reply
          .header('Content-Type', 'application/x-ndjson; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="palisade-export-${orgId}-${now.toISOString().slice(0, 10)}.jsonl"`)
          .send(Readable.from(logFailure(deps.orgExport.lines(orgId, withValues, now), request)));
      },
    });

    app.post('/v1/orgs/:orgId/erasure-requests', {
      schema: {
        operationId: 'createErasureRequest',
        tags: ['privacy'],
        description:
          "Erase a person for good: every conversation of theirs (found by visitor id, or by an identifier that names one person — e-mail, phone, IBAN, card, SSN, passport, wallet — as tokenised in the conversations' PII vaults), their visitor record, and their encryption keys (crypto-shredding). dryRun counts what would go; an identifier that may not name one person (several visitors, several conversations without a visitor, or a phone number found only written nationally) needs the counts of a dry run: expectVisitors, expectConversations when conversations without a visitor go, expectMentions for values found only written nationally in other people's conversations. Audited without the identifier.",
        params: orgParams,
        body: erasureRequest,
      },
      handler: async (request, reply) => {
        const { orgId } = request.params;
        const principal = await deps.auth.require(request);
        await deps.access.authorize(principal, orgId, 'privacy:erase');
        const { visitorId, identifier, dryRun, expectVisitors, expectConversations, expectMentions } = request.body;
        const subject = visitorId !== undefined ? { visitorId } : { identifier: identifier as NonNullable<typeof identifier> };
        const erasure = await deps.erasure.erase(orgId, subject, { principal, ip: request.ip }, { dryRun, ...(expectVisitors !== undefined ? { expectVisitors } : {}), ...(expectConversations !== undefined ? { expectConversations } : {}), ...(expectMentions !== undefined ? { expectMentions } : {}) });
        return reply.code(dryRun ? 200 : 201).send({ erasure });
      },
    });
  };
}
