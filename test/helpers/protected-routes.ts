/**
 * Every protected member/org/project route, with the permission it needs and how to build a
 * valid request against fresh objects. The authorisation matrix (test/authorization.test.ts) runs
 * each for every role, another organisation, a revoked key, another site, malformed bodies and no
 * credentials: a new route added here is checked by all of them.
 */
import type { Permission } from '../../src/modules/orgs/permissions.ts';
import { memberWithRole, uniqueEmail, type Client, type TestApp } from './harness.ts';

export interface RouteCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  permission: Permission;
  /** Creates what the request needs (with the owner's client) and returns path and body. */
  prepare(ctx: { t: TestApp; owner: Client; orgId: string }): Promise<{ path: string; body?: unknown }>;
  /** Tables this route writes, for "nothing written" checks. */
  writes: string[];
  /** State it changes outside those tables (memory, Redis), compared before and after a refusal. */
  stateOf?(t: TestApp, path: string): Promise<unknown>;
}

async function newProject(owner: Client, orgId: string, settings?: Record<string, unknown>): Promise<string> {
  const r = await owner.post(`/v1/orgs/${orgId}/projects`, { name: 'p', ...(settings ? { settings } : {}) });
  if (r.status !== 201) throw new Error(`project: ${r.status}`);
  return r.body.project.id;
}

// A stored answer key is bound to the project's https endpoint (never called in these tests).
const llmProject = (owner: Client, orgId: string): Promise<string> =>
  newProject(owner, orgId, { answer: { provider: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', model: 'm' } });

/** One webhook per organisation for the routes that only read or change it (an org has at most 20). */
const webhooks = new Map<string, Promise<string>>();
function sharedWebhook(owner: Client, orgId: string): Promise<string> {
  let id = webhooks.get(orgId);
  if (!id) {
    id = newWebhook(owner, orgId);
    webhooks.set(orgId, id);
  }
  return id;
}
async function newWebhook(owner: Client, orgId: string): Promise<string> {
  const r = await owner.post(`/v1/orgs/${orgId}/webhooks`, { url: 'https://hooks.example.com/in', eventTypes: ['project.created'] });
  if (r.status !== 201) throw new Error(`webhook: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.webhook.id;
}
const webhookRow = async (t: TestApp, path: string) =>
  JSON.stringify(await t.database.db.selectFrom('webhooks').selectAll().where('id', '=', path.split('/')[3] ?? '').executeTakeFirst());

const ssoBody = { issuer: 'https://idp.example.com', clientId: 'palisade', clientSecret: 'client-secret', emailDomains: ['example.com'] };

export const protectedRoutes: RouteCase[] = [
  { name: 'get SSO', method: 'GET', permission: 'org:update', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/sso` }) },
  {
    name: 'configure SSO',
    method: 'PUT',
    permission: 'sso:manage',
    writes: ['org_sso', 'sso_domains', 'audit_log'],
    prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/sso`, body: { ...ssoBody, clientId: `c-${Date.now()}`, emailDomains: [`d${Date.now()}.example.com`] } }),
    stateOf: async (t) => JSON.stringify(await t.database.db.selectFrom('org_sso').select(['org_id', 'client_id', 'updated_at']).orderBy('org_id').execute()),
  },
  {
    name: 'remove SSO',
    method: 'DELETE',
    permission: 'sso:manage',
    writes: ['org_sso', 'sso_domains', 'audit_log'],
    prepare: async ({ owner, orgId }) => {
      const r = await owner.request('PUT', `/v1/orgs/${orgId}/sso`, ssoBody);
      if (r.status !== 200) throw new Error(`sso: ${r.status}`);
      return { path: `/v1/orgs/${orgId}/sso` };
    },
  },
  { name: 'list webhooks', method: 'GET', permission: 'webhooks:manage', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/webhooks` }) },
  {
    name: 'create webhook',
    method: 'POST',
    permission: 'webhooks:manage',
    writes: ['webhooks', 'webhook_deliveries', 'audit_log'],
    prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/webhooks`, body: { url: 'https://hooks.example.com/in', eventTypes: ['*'] } }),
  },
  { name: 'get webhook', method: 'GET', permission: 'webhooks:manage', writes: [], prepare: async ({ owner, orgId }) => ({ path: `/v1/webhooks/${await sharedWebhook(owner, orgId)}` }) },
  {
    name: 'update webhook',
    method: 'PATCH',
    permission: 'webhooks:manage',
    writes: ['webhook_deliveries', 'audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/webhooks/${await sharedWebhook(owner, orgId)}`, body: { url: `https://hooks.example.com/${Date.now()}` } }),
    stateOf: webhookRow,
  },
  {
    name: 'delete webhook',
    method: 'DELETE',
    permission: 'webhooks:manage',
    writes: ['webhooks', 'audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/webhooks/${await newWebhook(owner, orgId)}` }),
  },
  {
    name: 'rotate webhook secret',
    method: 'POST',
    permission: 'webhooks:manage',
    writes: ['audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/webhooks/${await sharedWebhook(owner, orgId)}/rotate-secret` }),
    stateOf: webhookRow,
  },
  {
    name: 'list webhook deliveries',
    method: 'GET',
    permission: 'webhooks:manage',
    writes: [],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/webhooks/${await sharedWebhook(owner, orgId)}/deliveries?status=failed&limit=10` }),
  },
  {
    name: 'redeliver webhook delivery',
    method: 'POST',
    permission: 'webhooks:manage',
    writes: ['audit_log'],
    prepare: async ({ t, owner, orgId }) => {
      const webhookId = await sharedWebhook(owner, orgId);
      const id = `dlv_${Date.now()}${Math.floor(Math.random() * 1e6)}`;
      await t.database.db
        .insertInto('webhook_deliveries')
        .values({ id, org_id: orgId, webhook_id: webhookId, event_id: 'aud_x', event_type: 'project.created', payload: '{}', status: 'failed', attempts: 9 })
        .execute();
      return { path: `/v1/webhooks/${webhookId}/deliveries/${id}/redeliver` };
    },
    stateOf: async (t, path) => (await t.database.db.selectFrom('webhook_deliveries').select('status').where('id', '=', path.split('/')[5] ?? '').executeTakeFirst())?.status,
  },
  { name: 'get org', method: 'GET', permission: 'org:read', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}` }) },
  { name: 'update org', method: 'PATCH', permission: 'org:update', writes: ['audit_log'], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}`, body: { name: 'Renamed' } }) },
  { name: 'list members', method: 'GET', permission: 'members:read', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/members` }) },
  {
    name: 'add member',
    method: 'POST',
    permission: 'members:manage',
    writes: ['memberships', 'invitations', 'audit_log'],
    prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/members`, body: { email: uniqueEmail('invitee'), role: 'viewer' } }),
  },
  { name: 'list invitations', method: 'GET', permission: 'members:manage', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/invitations` }) },
  {
    name: 'revoke invitation',
    method: 'DELETE',
    permission: 'members:manage',
    writes: ['audit_log'],
    prepare: async ({ owner, orgId }) => {
      const r = await owner.post(`/v1/orgs/${orgId}/members`, { email: uniqueEmail('invitee'), role: 'viewer' });
      return { path: `/v1/orgs/${orgId}/invitations/${r.body.invitation.id}` };
    },
    // Revoking expires the invitation: a refused call leaves its expiry as it was.
    stateOf: async (t, path) =>
      String((await t.database.db.selectFrom('invitations').select('expires_at').where('id', '=', path.split('/')[5] ?? '').executeTakeFirst())?.expires_at),
  },
  {
    name: 'change member role',
    method: 'PATCH',
    permission: 'members:manage',
    writes: ['audit_log'],
    prepare: async ({ t, owner, orgId }) => {
      const m = await memberWithRole(t, owner, orgId, 'viewer');
      return { path: `/v1/orgs/${orgId}/members/${m.userId}`, body: { role: 'editor' } };
    },
  },
  {
    name: 'remove member',
    method: 'DELETE',
    permission: 'members:manage',
    writes: ['memberships', 'audit_log'],
    prepare: async ({ t, owner, orgId }) => {
      const m = await memberWithRole(t, owner, orgId, 'viewer');
      return { path: `/v1/orgs/${orgId}/members/${m.userId}` };
    },
  },
  { name: 'list projects', method: 'GET', permission: 'projects:read', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/projects` }) },
  {
    name: 'create project',
    method: 'POST',
    permission: 'projects:write',
    writes: ['projects', 'audit_log'],
    prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/projects`, body: { name: 'New bot', settings: { allowedDomains: ['docs.example.com'] } } }),
  },
  { name: 'get project', method: 'GET', permission: 'projects:read', writes: [], prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}` }) },
  {
    name: 'update project',
    method: 'PATCH',
    permission: 'projects:write',
    writes: ['audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}`, body: { settings: { retentionDays: 30 } } }),
  },
  {
    name: 'delete project',
    method: 'DELETE',
    permission: 'projects:delete',
    writes: ['projects', 'audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}` }),
  },
  { name: 'audit log', method: 'GET', permission: 'audit:read', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/audit-log` }) },
  { name: 'access log', method: 'GET', permission: 'audit:read', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/access-log?limit=5` }) },
  {
    name: 'erasure request',
    method: 'POST',
    permission: 'privacy:erase',
    writes: ['audit_log', 'conversations', 'visitors'],
    prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/erasure-requests`, body: { identifier: { type: 'EMAIL', value: 'nobody@example.com' } } }),
  },
  { name: 'organisation export', method: 'GET', permission: 'org:update', writes: ['audit_log'], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/export` }) },
  { name: 'audit log export', method: 'GET', permission: 'audit:read', writes: ['audit_log'], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/audit-log/export?format=csv` }) },
  {
    name: 'list conversation entities',
    method: 'GET',
    permission: 'chat:read',
    writes: [],
    prepare: async ({ owner, orgId }) => {
      const c = await owner.post(`/v1/projects/${await newProject(owner, orgId)}/conversations`);
      await owner.post(`/v1/conversations/${c.body.conversation.id}/messages`, { content: 'Write to pat.doe@example.com please' });
      return { path: `/v1/conversations/${c.body.conversation.id}/entities` };
    },
  },
  {
    name: 'reveal entity',
    method: 'POST',
    permission: 'pii:reveal',
    writes: ['audit_log'],
    prepare: async ({ owner, orgId }) => {
      const c = await owner.post(`/v1/projects/${await newProject(owner, orgId)}/conversations`);
      await owner.post(`/v1/conversations/${c.body.conversation.id}/messages`, { content: 'Write to pat.doe@example.com please' });
      const list = await owner.get(`/v1/conversations/${c.body.conversation.id}/entities`);
      if (!list.body.entities?.[0]) throw new Error(`entities: ${list.status}`);
      return { path: `/v1/entities/${list.body.entities[0].id}/reveal` };
    },
  },
  {
    name: 'analyze PII with a project policy',
    method: 'POST',
    permission: 'projects:read',
    writes: [],
    prepare: async ({ owner, orgId }) => ({ path: '/v1/pii/analyze', body: { text: 'call +44 20 7946 0958', projectId: await newProject(owner, orgId) } }),
  },
  {
    name: 'add document',
    method: 'POST',
    permission: 'knowledge:write',
    writes: ['documents', 'knowledge_chunks', 'audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/documents`, body: { title: 'Doc', contentType: 'text', content: 'Palisade keeps chat private.' } }),
  },
  { name: 'list documents', method: 'GET', permission: 'projects:read', writes: [], prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/documents` }) },
  {
    name: 'delete document',
    method: 'DELETE',
    permission: 'knowledge:write',
    writes: ['documents', 'knowledge_chunks', 'audit_log'],
    prepare: async ({ owner, orgId }) => {
      const d = await owner.post(`/v1/projects/${await newProject(owner, orgId)}/documents`, { title: 'Doc', contentType: 'text', content: 'Palisade keeps chat private.' });
      return { path: `/v1/documents/${d.body.document.id}` };
    },
  },
  { name: 'search knowledge', method: 'GET', permission: 'projects:read', writes: [], prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/search?q=private` }) },
  { name: 'start conversation', method: 'POST', permission: 'chat:write', writes: ['conversations'], prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/conversations` }) },
  {
    name: 'send message',
    method: 'POST',
    permission: 'chat:write',
    writes: ['messages'],
    prepare: async ({ owner, orgId }) => {
      const c = await owner.post(`/v1/projects/${await newProject(owner, orgId)}/conversations`);
      return { path: `/v1/conversations/${c.body.conversation.id}/messages`, body: { content: 'hello' } };
    },
  },
  {
    name: 'conversation history',
    method: 'GET',
    permission: 'chat:read',
    writes: [],
    prepare: async ({ owner, orgId }) => {
      const c = await owner.post(`/v1/projects/${await newProject(owner, orgId)}/conversations`);
      return { path: `/v1/conversations/${c.body.conversation.id}/messages` };
    },
  },
  {
    name: 'rotate identity secret',
    method: 'POST',
    // projects:write and pii:reveal: the roles with pii:reveal (owner, admin) have both.
    permission: 'pii:reveal',
    writes: ['project_identity_secrets', 'audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/identity-secret` }),
  },
  {
    name: 'end visitor sessions',
    method: 'DELETE',
    permission: 'projects:write',
    writes: ['audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/visitor-sessions` }),
    // The epoch the project's visitor tokens must name: a refused call leaves it as it was.
    stateOf: async (t, path) =>
      (await t.database.db.selectFrom('projects').select('visitor_sessions_epoch').where('id', '=', path.split('/')[3] ?? '').executeTakeFirst())?.visitor_sessions_epoch,
  },
  {
    name: 'answer key status',
    method: 'GET',
    permission: 'projects:read',
    writes: [],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/answer-key` }),
  },
  {
    name: 'set answer key',
    method: 'POST',
    permission: 'projects:write',
    writes: ['project_answer_keys', 'audit_log'],
    prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await llmProject(owner, orgId)}/answer-key`, body: { apiKey: 'sk-test-123' } }),
  },
  {
    name: 'remove answer key',
    method: 'DELETE',
    permission: 'projects:write',
    writes: ['project_answer_keys', 'audit_log'],
    prepare: async ({ owner, orgId }) => {
      const projectId = await llmProject(owner, orgId);
      const r = await owner.post(`/v1/projects/${projectId}/answer-key`, { apiKey: 'sk-test-123' });
      if (r.status !== 204) throw new Error(`answer key: ${r.status}`);
      return { path: `/v1/projects/${projectId}/answer-key` };
    },
  },
  { name: 'list API keys', method: 'GET', permission: 'keys:manage', writes: [], prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/api-keys` }) },
  {
    name: 'create API key',
    method: 'POST',
    permission: 'keys:manage',
    writes: ['api_keys', 'audit_log'],
    prepare: async ({ orgId }) => ({ path: `/v1/orgs/${orgId}/api-keys`, body: { name: 'ci', scopes: ['projects:read'] } }),
  },
  {
    name: 'revoke API key',
    method: 'DELETE',
    permission: 'keys:manage',
    writes: ['audit_log'],
    prepare: async ({ owner, orgId }) => {
      const k = await owner.post(`/v1/orgs/${orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
      return { path: `/v1/api-keys/${k.body.apiKey.id}` };
    },
  },
  {
    name: 'lift a rate-limit block',
    method: 'DELETE',
    permission: 'projects:write',
    writes: [],
    prepare: async ({ t, owner, orgId }) => {
      const r = await owner.post(`/v1/orgs/${orgId}/projects`, { name: 'p', settings: { rateLimits: { perIpPerMinute: 1 } } });
      if (r.status !== 201) throw new Error(`project: ${r.status}`);
      const projectId: string = r.body.project.id;
      const settings = r.body.project.settings.rateLimits;
      const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
      // One admitted, then enough refusals for the penalty box to block this IP.
      for (let i = 0; i < 12; i += 1) await t.services.rateLimits.checkMessage({ projectId, orgId, channel: 'widget', settings, ip });
      if (!(await t.services.rateLimits.listBlocks(projectId)).some((b) => b.key === ip)) throw new Error('no block to lift');
      return { path: `/v1/projects/${projectId}/rate-limit-blocks/ip/${ip}` };
    },
    stateOf: async (t, path) => {
      const projectId = path.split('/')[3] ?? '';
      return (await t.services.rateLimits.listBlocks(projectId)).map((b) => `${b.dimension}:${b.key}`).sort();
    },
  },
  { name: 'rate-limit blocks', method: 'GET', permission: 'projects:write', writes: [], prepare: async ({ owner, orgId }) => ({ path: `/v1/projects/${await newProject(owner, orgId)}/rate-limit-blocks` }) },
  {
    name: 'rotate API key',
    method: 'POST',
    permission: 'keys:manage',
    writes: ['audit_log'],
    prepare: async ({ owner, orgId }) => {
      const k = await owner.post(`/v1/orgs/${orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
      return { path: `/v1/api-keys/${k.body.apiKey.id}/rotate`, body: { graceSeconds: 0 } };
    },
  },
  {
    name: 'API key usage',
    method: 'GET',
    permission: 'keys:manage',
    writes: [],
    prepare: async ({ owner, orgId }) => {
      const k = await owner.post(`/v1/orgs/${orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
      return { path: `/v1/api-keys/${k.body.apiKey.id}/usage` };
    },
  },
];
