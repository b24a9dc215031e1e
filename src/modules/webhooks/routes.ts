/**
 * HTTP for webhooks (permissions `webhooks:manage` and `audit:read`: owners and admins, or an API
 * key with both scopes — a webhook receives the audit log as it is written, so managing one is
 * reading it): an organisation's list and creation, one webhook by id, its secret rotation, and
 * its deliveries with a way to send a finished one again.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { idSchema, orgParams, noBody } from '../../platform/http/id-params.ts';
import type { Access } from '../orgs/access.ts';
import type { WebhookService } from './service.ts';

/** An event type (an audit action such as `project.created`, or `pii.detected`), a family (`project.*`), or `*`. */
const eventType = z
  .string()
  .max(100)
  .regex(/^(\*|[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_.]*))$/, "must be an event type such as 'project.created', a family such as 'project.*', or '*'");
const eventTypes = z.array(eventType).min(1).max(50).transform((types) => [...new Set(types)]);
const url = z.string().trim().min(1).max(2000);
const description = z.string().trim().max(200);

/** Both: a webhook subscribed to '*' reads the whole audit log. */
const NEEDS = ['webhooks:manage', 'audit:read'] as const;

const webhookParams = z.strictObject({ webhookId: idSchema('whk', 'a webhook id') });
const deliveryParams = z.strictObject({ webhookId: idSchema('whk', 'a webhook id'), deliveryId: idSchema('dlv', 'a delivery id') });

export function webhookRoutes(deps: { webhooks: WebhookService; access: Access; auth: Authenticator }) {
  const { webhooks, access, auth } = deps;

  async function actorFor(request: FastifyRequest, webhookId: string) {
    const principal = await auth.require(request);
    const orgId = await webhooks.orgOf(webhookId);
    await access.authorize(principal, orgId, NEEDS, { what: 'webhook' });
    return { orgId, actor: { principal, ip: request.ip } };
  }

  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/webhooks', { schema: { operationId: 'listWebhooks', tags: ['webhooks'], params: orgParams } }, async (request) => {
      const principal = await auth.require(request);
      await access.authorize(principal, request.params.orgId, NEEDS);
      return { webhooks: await webhooks.list(request.params.orgId) };
    });

    app.post('/v1/orgs/:orgId/webhooks', {
      schema: {
        operationId: 'createWebhook',
        tags: ['webhooks'],
        description:
          "Deliver the organisation's audited events to a URL (https; see docs/webhooks.md), signed in the Standard Webhooks form. The signing secret is in this reply only.",
        params: orgParams,
        body: z.strictObject({ url, eventTypes, description: description.default(''), enabled: z.boolean().default(true) }),
      },
      handler: async (request, reply) => {
        const { orgId } = request.params;
        const principal = await auth.require(request);
        await access.authorize(principal, orgId, NEEDS);
        const created = await webhooks.create(orgId, request.body, { principal, ip: request.ip });
        return reply.code(201).send(created);
      },
    });

    app.get('/v1/webhooks/:webhookId', { schema: { operationId: 'getWebhook', tags: ['webhooks'], params: webhookParams } }, async (request) => {
      const { orgId } = await actorFor(request, request.params.webhookId);
      return { webhook: await webhooks.get(orgId, request.params.webhookId) };
    });

    app.patch('/v1/webhooks/:webhookId', {
      schema: {
        operationId: 'updateWebhook',
        tags: ['webhooks'],
        params: webhookParams,
        body: z
          .strictObject({ url: url.optional(), eventTypes: eventTypes.optional(), description: description.optional(), enabled: z.boolean().optional() })
          .refine((body) => Object.keys(body).length > 0, { message: 'Name at least one of url, eventTypes, description, enabled.' }),
      },
      handler: async (request) => {
        const { orgId, actor } = await actorFor(request, request.params.webhookId);
        return { webhook: await webhooks.update(orgId, request.params.webhookId, request.body, actor) };
      },
    });

    app.delete('/v1/webhooks/:webhookId', { schema: { operationId: 'deleteWebhook', tags: ['webhooks'], params: webhookParams } }, async (request, reply) => {
      const { orgId, actor } = await actorFor(request, request.params.webhookId);
      await webhooks.remove(orgId, request.params.webhookId, actor);
      return reply.code(204).send();
    });

    app.post('/v1/webhooks/:webhookId/rotate-secret', {
      schema: { operationId: 'rotateWebhookSecret', tags: ['webhooks'], description: 'A new signing secret, in this reply only; the old one stops being used at once.', body: noBody, params: webhookParams },
      handler: async (request) => {
        const { orgId, actor } = await actorFor(request, request.params.webhookId);
        return webhooks.rotateSecret(orgId, request.params.webhookId, actor);
      },
    });

    app.get('/v1/webhooks/:webhookId/deliveries', {
      schema: {
        operationId: 'listWebhookDeliveries',
        tags: ['webhooks'],
        description: 'Deliveries, newest first: status, attempts, the last HTTP status or error. Page on with before=nextBefore.',
        params: webhookParams,
        querystring: z.strictObject({
          status: z.enum(['pending', 'delivered', 'failed']).optional(),
          before: idSchema('dlv', 'a delivery id').optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
      handler: async (request) => {
        const { orgId } = await actorFor(request, request.params.webhookId);
        return webhooks.deliveries(orgId, request.params.webhookId, request.query);
      },
    });

    app.post('/v1/webhooks/:webhookId/deliveries/:deliveryId/redeliver', {
      schema: { operationId: 'redeliverWebhookDelivery', tags: ['webhooks'], description: 'Send a delivered or failed delivery again, now.', body: noBody, params: deliveryParams },
      handler: async (request, reply) => {
        const { orgId, actor } = await actorFor(request, request.params.webhookId);
        await webhooks.redeliver(orgId, request.params.webhookId, request.params.deliveryId, actor);
        return reply.code(202).send({ redelivery: { deliveryId: request.params.deliveryId, status: 'pending' } });
      },
    });
  };
}
