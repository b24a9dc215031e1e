/**
 * A project's own answer-endpoint key: stored encrypted (never in the clear, never returned),
 * sent only to that project's endpoint; the operator's key (ANSWER_API_KEY) only ever goes to the
 * operator's own endpoint (ANSWER_BASE_URL), so an editor cannot point a project at a server of
 * theirs and collect it. Real HTTP, a real Chat Completions stub, both storage tiers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { countRows, memberWithRole, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';
import { startOpenAiStub, type OpenAiStub } from './helpers/openai-stub.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';
import { TEST_MASTER_KEY } from './helpers/test-keys.ts';

const origin = 'https://docs.example.com';
const operatorKey = 'sk-operator-0123456789abcdefOPERATOR';
const projectKey = 'sk-project-9876543210zyxwvuPROJECTKEY';

let t: TestApp;
let operatorStub: OpenAiStub;
let otherStub: OpenAiStub;
let owner: SignedUp;

async function project(baseUrl: string): Promise<string> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, {
    name: 'LLM bot',
    settings: { allowedDomains: ['docs.example.com'], answer: { provider: 'openai-compatible', baseUrl, model: 'stub' } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.project.id;
}

/** Sends a visitor message and returns the Authorization header the endpoint received. */
async function authorizationSeenBy(stub: OpenAiStub, projectId: string): Promise<string | undefined> {
  const before = stub.requests.length;
  const s = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const r = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'How do refunds work?' }, { origin, authorization: `Bearer ${s.body.token}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(stub.requests.length, before + 1, 'the endpoint was called once');
  const header = stub.requests.at(-1)?.headers.authorization;
  return typeof header === 'string' ? header : undefined;
}

/** A visitor's message to a new project of `member`'s on `app` that answers through `baseUrl`. */
async function askThrough(app: TestApp, member: SignedUp, baseUrl: string): Promise<{ status: number; body: { code?: string; detail?: string } }> {
  const p = await member.client.post(`/v1/orgs/${member.orgId}/projects`, {
    name: 'LLM bot',
    settings: { allowedDomains: ['docs.example.com'], answer: { provider: 'openai-compatible', baseUrl, model: 'stub' } },
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const s = await app.client().post(`/v1/widget/${p.body.project.id}/sessions`, {}, { origin });
  return app.client().post(`/v1/widget/${p.body.project.id}/messages`, { content: 'How do refunds work?' }, { origin, authorization: `Bearer ${s.body.token}` });
}

before(async () => {
  operatorStub = await startOpenAiStub({ reply: 'From the operator endpoint.' });
  otherStub = await startOpenAiStub({ reply: 'From somewhere else.' });
  t = await startTestApp({ config: { operatorAnswerEndpoint: { baseUrl: operatorStub.baseUrl, apiKey: operatorKey } } });
  owner = await signUp(t, 'Answer Keys Org');
});
after(async () => {
  await t.close();
  await operatorStub.close();
  await otherStub.close();
});

describe("the operator's key", () => {
  it("is sent to the operator's own endpoint", async () => {
    assert.equal(await authorizationSeenBy(operatorStub, await project(operatorStub.baseUrl)), `Bearer ${operatorKey}`);
  });

  it('is never sent to an endpoint a project chose (another port on the same host)', async () => {
    assert.equal(await authorizationSeenBy(otherStub, await project(otherStub.baseUrl)), undefined);
  });

  it('needs ANSWER_BASE_URL: a key with no endpoint to send it to is a configuration error', () => {
    const env = { PALISADE_MASTER_KEY: TEST_MASTER_KEY, ANSWER_API_KEY: 'sk-x' };
    assert.throws(() => loadConfig(env), /ANSWER_API_KEY needs ANSWER_BASE_URL/);
    assert.equal(loadConfig({ ...env, ANSWER_BASE_URL: 'https://llm.internal.example/v1' }).operatorAnswerEndpoint?.apiKey, 'sk-x');
  });
});

describe("a project's own key", () => {
  it('is write-only, encrypted at rest, audited, and sent to its endpoint', async () => {
    const projectId = await project(otherStub.baseUrl);
    const path = `/v1/projects/${projectId}/answer-key`;
    assert.deepEqual((await owner.client.get(path)).body, { answerKey: { configured: false, endpoint: null, updatedAt: null } });

    const set = await owner.client.post(path, { apiKey: projectKey });
    assert.equal(set.status, 204);
    const status = await owner.client.get(path);
    assert.equal(status.body.answerKey.configured, true);
    assert.equal(status.body.answerKey.endpoint, otherStub.baseUrl.replace(/\/+$/, ''), 'bound to the endpoint named when it was stored');
    assert.ok(!JSON.stringify(status.body).includes(projectKey), 'the key is never returned');
    const settings = await owner.client.get(`/v1/projects/${projectId}`);
    assert.ok(!JSON.stringify(settings.body).includes(projectKey), 'nor is it part of the settings');

    assert.equal(await authorizationSeenBy(otherStub, projectId), `Bearer ${projectKey}`);
    assert.deepEqual(await scanForPlaintext(t, projectKey), [], 'no plaintext of the key in raw storage');

    assert.equal((await owner.client.delete(path)).status, 204);
    assert.equal(await authorizationSeenBy(otherStub, projectId), undefined, 'removed: nothing is sent');
    assert.equal((await owner.client.delete(path)).status, 204, 'removing twice is fine');

    const audit = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log`);
    const actions = (audit.body.entries as { action: string; target: { id: string } | null }[]).filter((e) => e.target?.id === projectId && e.action.startsWith('project.answer_key')).map((e) => e.action);
    assert.deepEqual(actions.sort(), ['project.answer_key_removed', 'project.answer_key_set'], JSON.stringify(audit.body).slice(0, 500));
  });

  it('is not sent once the project points elsewhere: an editor cannot redirect it to a server of theirs', async () => {
    const projectId = await project(operatorStub.baseUrl);
    assert.equal((await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey: projectKey })).status, 204);
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const moved = await editor.client.patch(`/v1/projects/${projectId}`, { settings: { answer: { provider: 'openai-compatible', baseUrl: otherStub.baseUrl, model: 'stub' } } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(await authorizationSeenBy(otherStub, projectId), undefined, 'the stolen-endpoint stub receives no key');
    // Pointed back, the key it was bound to works again; stored again, it binds to the new endpoint.
    await owner.client.patch(`/v1/projects/${projectId}`, { settings: { answer: { provider: 'openai-compatible', baseUrl: operatorStub.baseUrl, model: 'stub' } } });
    assert.equal(await authorizationSeenBy(operatorStub, projectId), `Bearer ${projectKey}`);
  });

  it('stored naming the endpoint meant: refused 409, nothing written, when someone has pointed the project elsewhere meanwhile', async () => {
    const projectId = await project(operatorStub.baseUrl);
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    await editor.client.patch(`/v1/projects/${projectId}`, { settings: { answer: { provider: 'openai-compatible', baseUrl: otherStub.baseUrl, model: 'stub' } } });
    const rows = await countRows(t, 'project_answer_keys');
    const refused = await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey: projectKey, endpoint: operatorStub.baseUrl });
    assert.deepEqual([refused.status, refused.body.code], [409, 'conflict'], JSON.stringify(refused.body));
    assert.equal(await countRows(t, 'project_answer_keys'), rows);
    assert.equal(await authorizationSeenBy(otherStub, projectId), undefined);
    assert.equal((await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey: projectKey, endpoint: 'not a url' })).status, 400);
    assert.equal((await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey: projectKey, endpoint: `${otherStub.baseUrl}/` })).status, 204, 'the endpoint as it is now (a trailing slash is the same)');
  });

  it('is refused, with nothing written, for a project without an openai-compatible endpoint or with a plain-http one elsewhere', async () => {
    const rows = await countRows(t, 'project_answer_keys');
    const extractive = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Offline bot', settings: { allowedDomains: ['docs.example.com'] } });
    assert.equal(extractive.status, 201, JSON.stringify(extractive.body));
    const plainHttp = await project('http://llm.example.com/v1');
    for (const projectId of [extractive.body.project.id as string, plainHttp]) {
      const r = await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey: projectKey });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, 'invalid_request');
    }
    assert.equal(await countRows(t, 'project_answer_keys'), rows);
  });

  it('takes precedence over the operator key on the operator endpoint', async () => {
    const projectId = await project(operatorStub.baseUrl);
    assert.equal((await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey: projectKey })).status, 204);
    assert.equal(await authorizationSeenBy(operatorStub, projectId), `Bearer ${projectKey}`);
  });

  it('refuses a key that could not travel in a header, and writes nothing', async () => {
    const projectId = await project(otherStub.baseUrl);
    const rows = await countRows(t, 'project_answer_keys');
    for (const apiKey of ['sk with space', 'sk-x\r\nX-Injected: 1', '', 'é'.repeat(10), 'x'.repeat(501), 42]) {
      const r = await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey });
      assert.equal(r.status, 400, `${JSON.stringify(apiKey)} → ${r.status}`);
      assert.equal(r.body.code, 'invalid_request');
    }
    assert.equal(await countRows(t, 'project_answer_keys'), rows);
  });

  it('is refused to a viewer, another organisation and a read-only API key, with nothing written', async () => {
    const projectId = await project(otherStub.baseUrl);
    const path = `/v1/projects/${projectId}/answer-key`;
    const viewer = await memberWithRole(t, owner.client, owner.orgId, 'viewer');
    const outsider = await signUp(t, 'Elsewhere', 'outsider');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ro', scopes: ['projects:read'] });
    const bearer = { authorization: `Bearer ${key.body.secret}` };
    const rows = await countRows(t, 'project_answer_keys');
    assert.equal((await viewer.client.post(path, { apiKey: projectKey })).status, 403);
    assert.equal((await outsider.client.post(path, { apiKey: projectKey })).status, 404);
    assert.equal((await t.client().post(path, { apiKey: projectKey }, bearer)).status, 403);
    assert.equal((await t.client().post(path, { apiKey: projectKey })).status, 401);
    assert.equal((await viewer.client.delete(path)).status, 403);
    assert.equal((await outsider.client.get(path)).status, 404);
    assert.equal(await countRows(t, 'project_answer_keys'), rows);
  });
});

describe("a project's own endpoint on a private network (ANSWER_ALLOW_PRIVATE_NETWORKS off, the default)", () => {
  let strict: TestApp;
  let member: SignedUp;
  before(async () => {
    strict = await startTestApp({ config: { answerAllowPrivateNetworks: false, operatorAnswerEndpoint: { baseUrl: operatorStub.baseUrl, apiKey: operatorKey } } });
    member = await signUp(strict, 'Strict Org');
  });
  after(() => strict.close());

  const ask = (baseUrl: string) => askThrough(strict, member, baseUrl);

  it('is never called: a loopback address, by IP or by a name that resolves to it, is refused before any request', async () => {
    const port = new URL(otherStub.baseUrl).port;
    for (const baseUrl of [otherStub.baseUrl, `http://localhost:${port}/v1`, `http://[::ffff:127.0.0.1]:${port}/v1`]) {
      const before = otherStub.requests.length;
      const r = await ask(baseUrl);
      assert.equal(r.status, 502, `${baseUrl}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'provider_error');
      assert.match(r.body.detail ?? '', /not on an address this server may call/);
      assert.equal(otherStub.requests.length, before, `${baseUrl} received a request`);
    }
  });

  it("the operator's own endpoint is trusted as configured, wherever it is", async () => {
    const before = operatorStub.requests.length;
    const r = await ask(operatorStub.baseUrl);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(operatorStub.requests.length, before + 1);
  });
});

describe("a project's own endpoint with ANSWER_ALLOW_PRIVATE_NETWORKS on", () => {
  let open: TestApp;
  let member: SignedUp;
  before(async () => {
    open = await startTestApp({ config: { answerAllowPrivateNetworks: true } });
    member = await signUp(open, 'Private Net Org');
  });
  after(() => open.close());

  it('reaches the private network (here loopback), never link-local space or cloud metadata', async () => {
    const before = otherStub.requests.length;
    assert.equal((await askThrough(open, member, otherStub.baseUrl)).status, 200);
    assert.equal(otherStub.requests.length, before + 1);
    for (const baseUrl of ['http://169.254.169.254/v1', 'http://[::ffff:169.254.169.254]/v1', 'http://[fe80::1]/v1', 'http://100.100.100.200/v1', 'http://[fd00:ec2::254]/v1']) {
      const r = await askThrough(open, member, baseUrl);
      assert.equal(r.status, 502, `${baseUrl}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.detail ?? '', /not on an address this server may call/, baseUrl);
    }
  });
});

describe("a keyless operator endpoint (ANSWER_BASE_URL alone: a local model on the operator's network)", () => {
  let keyless: TestApp;
  let member: SignedUp;
  before(async () => {
    const { operatorAnswerEndpoint } = loadConfig({ ANSWER_BASE_URL: operatorStub.baseUrl });
    keyless = await startTestApp({ config: { answerAllowPrivateNetworks: false, operatorAnswerEndpoint } });
    member = await signUp(keyless, 'Keyless Org');
  });
  after(() => keyless.close());

  it('is trusted on a private address and called without a key; a project endpoint elsewhere is still refused', async () => {
    assert.deepEqual(loadConfig({ ANSWER_BASE_URL: operatorStub.baseUrl }).operatorAnswerEndpoint, { baseUrl: operatorStub.baseUrl, apiKey: undefined });
    const ask = (baseUrl: string) => askThrough(keyless, member, baseUrl);
    const before = operatorStub.requests.length;
    const r = await ask(operatorStub.baseUrl);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(operatorStub.requests.length, before + 1);
    assert.equal(operatorStub.requests.at(-1)?.headers.authorization, undefined, 'no key was sent');
    const otherBefore = otherStub.requests.length;
    const refused = await ask(otherStub.baseUrl);
    assert.equal(refused.status, 502, JSON.stringify(refused.body));
    assert.equal(otherStub.requests.length, otherBefore);
  });
});
