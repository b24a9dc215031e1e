/**
 * PII on the message path, end to end over real HTTP with a real OpenAI-compatible provider
 * (a stub server that records what it is sent): the provider sees only tokens, the visitor sees
 * their own values restored, stored rows hold tokens and ciphertext, tokens are stable within a
 * conversation and restart in the next, `hash` differs per organisation, `pii.detected`
 * fires with counts and no values, and only the conversation's own visitor gets its earlier
 * values restored (an API caller with chat:write gets tokens).
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, it } from 'node:test';
import type { PiiDetectedEvent } from '../src/modules/pii/events.ts';
import { defaultPiiPolicy } from '../src/modules/pii/policy.ts';
import { MAX_VAULT_ENTRIES } from '../src/modules/pii/service.ts';
import { withTenant } from '../src/platform/db/tenant.ts';
import { AppError } from '../src/platform/http/errors.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';
import { startOpenAiStub, type OpenAiStub } from './helpers/openai-stub.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';

const origin = 'https://docs.example.com';
const raw = {
  email: 'jane.roe@example.com',
  phone: '+44 20 7946 0958',
  iban: 'GB82 WEST 1234 5698 7654 32',
  card: '4111 1111 1111 1111',
};
/** The raw values and the compact forms a careless path might produce. */
const needles = [...Object.values(raw), 'jane.roe', '2079460958', 'GB82WEST12345698765432', '4111111111111111'];
const message = `Hi, I am reachable at ${raw.email} or ${raw.phone}. My IBAN is ${raw.iban} and card ${raw.card}.`;
const echo = 'Noted: I will write to <EMAIL_1>, call <PHONE_1>, pay into <IBAN_1> and never charge <CREDIT_CARD_1>.';

let t: TestApp;
let stub: OpenAiStub;
let owner: SignedUp;
let projectId: string;
let firstConversation = '';
const events: PiiDetectedEvent[] = [];

async function project(by: SignedUp, pii?: unknown): Promise<string> {
  const r = await by.client.post(`/v1/orgs/${by.orgId}/projects`, {
    name: 'PII bot',
    settings: { allowedDomains: ['docs.example.com'], answer: { provider: 'openai-compatible', baseUrl: stub.baseUrl, model: 'stub' }, ...(pii ? { pii } : {}) },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.project.id;
}

async function visitor(prj: string): Promise<string> {
  const s = await t.client().post(`/v1/widget/${prj}/sessions`, {}, { origin });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  return s.body.token;
}

async function send(prj: string, token: string, content: string, conversationId?: string): Promise<{ conversationId: string; content: string }> {
  const r = await t.client().post(`/v1/widget/${prj}/messages`, { content, ...(conversationId ? { conversationId } : {}) }, { origin, authorization: `Bearer ${token}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { conversationId: r.body.conversationId, content: r.body.message.content };
}

/** Sends over SSE and returns the joined deltas. */
async function streamed(path: string, headers: Record<string, string>, body: unknown): Promise<string> {
  const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { ...headers, accept: 'text/event-stream', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.clone().text());
  const stream = await res.text();
  return [...stream.matchAll(/^event: delta\ndata: (.*)$/gm)].map((m) => (JSON.parse(m[1] ?? '{}') as { text: string }).text).join('');
}

async function apiKey(by: SignedUp, scopes: string[]): Promise<string> {
  const r = await by.client.post(`/v1/orgs/${by.orgId}/api-keys`, { name: 'server', scopes });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.secret;
}

/** What the provider was sent last: the whole request, and the question (last message). */
function lastSent(): { all: string; question: string } {
  const body = stub.requests.at(-1)?.body;
  assert.ok(body);
  return { all: JSON.stringify(body), question: body.messages?.at(-1)?.content ?? '' };
}

function assertNoRaw(text: string, where: string): void {
  for (const needle of needles) assert.ok(!text.includes(needle), `${where} holds ${needle}`);
}

before(async () => {
  stub = await startOpenAiStub({ reply: echo });
  t = await startTestApp({ onPiiDetected: (e) => events.push(e) });
  owner = await signUp(t, 'PII Org');
  projectId = await project(owner);
});
after(async () => {
  await t.close();
  await stub.close();
});

describe('the provider sees tokens, the visitor sees their own values', () => {

  it('sends the provider no raw PII, only tokens, and restores the values in the JSON answer', async () => {
    const token = await visitor(projectId);
    const r = await send(projectId, token, message);
    firstConversation = r.conversationId;
    const sent = lastSent();
    assertNoRaw(sent.all, 'the provider request');
    for (const tok of ['<EMAIL_1>', '<PHONE_1>', '<IBAN_1>', '<CREDIT_CARD_1>']) assert.ok(sent.question.includes(tok), `question lacks ${tok}`);
    assert.equal(r.content, `Noted: I will write to ${raw.email}, call ${raw.phone}, pay into ${raw.iban} and never charge ${raw.card}.`);
  });

  it('restores the values in a streamed answer too, and the next turn sends only tokens (history included)', async () => {
    const token = await visitor(projectId);
    const first = await send(projectId, token, message);
    const res = await fetch(`${t.url}/v1/widget/${projectId}/messages`, {
      method: 'POST',
      headers: { origin, authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ content: `Did you get ${raw.email}?`, conversationId: first.conversationId }),
    });
    assert.equal(res.status, 200);
    const stream = await res.text();
    const deltas = [...stream.matchAll(/^event: delta\ndata: (.*)$/gm)].map((m) => (JSON.parse(m[1] ?? '{}') as { text: string }).text).join('');
    assert.ok(deltas.includes(raw.email) && deltas.includes(raw.card), deltas);
    assert.ok(!deltas.includes('<EMAIL_1>'));
    const sent = lastSent();
    assertNoRaw(sent.all, 'the second provider request');
    assert.ok(sent.all.includes('<EMAIL_1>') && sent.all.includes('<CREDIT_CARD_1>'));
  });

  it('fires pii.detected after storing, with counts per type and no values', async () => {
    const conversationId = firstConversation;
    const event = events.find((e) => e.conversationId === conversationId);
    assert.ok(event, 'no pii.detected event');
    assert.deepEqual(event, { orgId: owner.orgId, projectId, conversationId, types: { EMAIL: 1, PHONE: 1, IBAN: 1, CREDIT_CARD: 1 } });
    for (const e of events) assertNoRaw(JSON.stringify(e), 'an event');
  });

  it('stores tokens: the history (decrypted, as the owner) shows tokens, not values', async () => {
    const h = await owner.client.get(`/v1/conversations/${firstConversation}/messages`);
    assert.equal(h.status, 200);
    const [question, answer] = h.body.messages as { role: string; content: string }[];
    assert.equal(question?.role, 'user');
    assert.ok(question?.content.includes('<EMAIL_1>') && question.content.includes('<IBAN_1>'));
    assert.equal(answer?.content, echo);
    assertNoRaw(JSON.stringify(h.body), 'the history');
  });
});

describe("only the conversation's visitor gets its earlier values back", () => {
  it('an API caller continuing a visitor conversation (chat:write and chat:read) sees tokens for the visitor’s values, and its own values restored', async () => {
    const token = await visitor(projectId);
    const { conversationId } = await send(projectId, token, `Mail ${raw.email}`);
    const key = await apiKey(owner, ['chat:write', 'chat:read']);
    const previous = stub.reply;
    stub.reply = 'Contact reference <EMAIL_1>, callback <PHONE_1>.';
    try {
      // The caller's own phone (new, <PHONE_1>) and the visitor's e-mail in other casing (<EMAIL_1>).
      const path = `/v1/conversations/${conversationId}/messages`;
      const sse = await streamed(path, { authorization: `Bearer ${key}` }, { content: `Contact reference please, I am on ${raw.phone}` });
      assert.equal(sse, `Contact reference <EMAIL_1>, callback ${raw.phone}.`);
      const json = await t.client().post(path, { content: 'Contact reference please' }, { authorization: `Bearer ${key}` });
      assert.equal(json.status, 200, JSON.stringify(json.body));
      assert.equal(json.body.message.content, stub.reply, 'earlier values, the caller’s phone included, stay tokens in a later message');
      // A guess of the visitor's e-mail (another casing) gets a token of its own: were it given
      // <EMAIL_1>, the caller would learn from the history that it guessed right, without pii:reveal.
      stub.reply = 'You asked about <EMAIL_2>, not <EMAIL_1>.';
      const spelled = await t.client().post(path, { content: `Is it ${raw.email.toUpperCase()}?` }, { authorization: `Bearer ${key}` });
      assert.equal(lastSent().question, 'Is it <EMAIL_2>?', 'a fresh token, whether or not the guess is right');
      assert.equal(spelled.body.message.content, `You asked about ${raw.email.toUpperCase()}, not <EMAIL_1>.`, 'its own value as it wrote it, the visitor’s as a token');
      const wrong = await t.client().post(path, { content: 'Is it john.doe@example.com?' }, { authorization: `Bearer ${key}` });
      assert.equal(wrong.status, 200);
      assert.equal(lastSent().question, 'Is it <EMAIL_3>?', 'a wrong guess looks the same');
      stub.reply = 'Contact reference <EMAIL_1>, callback <PHONE_1>.';

      const stored = (await owner.client.get(path)).body.messages as { role: string; content: string }[];
      const answers = stored.filter((m) => m.role === 'assistant').slice(1); // the first answered the visitor
      assert.deepEqual(
        answers.map((a) => a.content),
        [stub.reply, stub.reply, 'You asked about <EMAIL_2>, not <EMAIL_1>.', 'You asked about <EMAIL_2>, not <EMAIL_1>.'],
        'the answers are stored with tokens',
      );
      assertNoRaw(JSON.stringify(stored), 'the history');

      const own = await send(projectId, token, 'And my contact reference?', conversationId);
      assert.equal(own.content, `Contact reference ${raw.email}, callback <PHONE_1>.`, 'the visitor’s own follow-up: their e-mail, not the phone the caller wrote');

      // The vault now holds the visitor's e-mail twice (<EMAIL_1>, and <EMAIL_2> in the caller's
      // casing) and john.doe as <EMAIL_3>: a new value the visitor writes takes a new number, and
      // every token keeps its own value (the two equal ones once collapsed into one, and the
      // next new value was numbered <EMAIL_3> again and never stored).
      stub.reply = '<EMAIL_1> <EMAIL_2> <EMAIL_3> <EMAIL_4>';
      const fresh = await send(projectId, token, 'Please use fr.visitor@example.org from now on', conversationId);
      assert.equal(lastSent().question, 'Please use <EMAIL_4> from now on');
      assert.equal(fresh.content, `${raw.email} <EMAIL_2> <EMAIL_3> fr.visitor@example.org`, 'only what the visitor wrote comes back to them');
      const entities = (await owner.client.get(`/v1/conversations/${conversationId}/entities`)).body.entities as { id: string; token: string }[];
      const revealed = new Map<string, string>();
      for (const e of entities) revealed.set(e.token, (await owner.client.post(`/v1/entities/${e.id}/reveal`)).body.value);
      assert.deepEqual(Object.fromEntries([...revealed].filter(([token]) => token.startsWith('<EMAIL'))), {
        '<EMAIL_1>': raw.email,
        '<EMAIL_2>': raw.email.toUpperCase(),
        '<EMAIL_3>': 'john.doe@example.com',
        '<EMAIL_4>': 'fr.visitor@example.org',
      });
    } finally {
      stub.reply = previous;
    }
  });

  it("a guess the organisation's caller plants before the visitor writes their value is never its token", async () => {
    const token = await visitor(projectId);
    const { conversationId } = await send(projectId, token, 'Hello');
    const key = await apiKey(owner, ['chat:write', 'chat:read']);
    const path = `/v1/conversations/${conversationId}/messages`;
    const planted = await t.client().post(path, { content: `Candidates: alice@example.org, ${raw.email}, bob@example.net` }, { authorization: `Bearer ${key}` });
    assert.equal(planted.status, 200);
    assert.equal(lastSent().question, 'Candidates: <EMAIL_1>, <EMAIL_2>, <EMAIL_3>');
    await send(projectId, token, `Sure, my e-mail is ${raw.email.toUpperCase()}`, conversationId);
    assert.equal(lastSent().question, 'Sure, my e-mail is <EMAIL_4>', 'a token of its own: <EMAIL_2> would have told the caller its guess was right');
    const history = (await t.client().get(path, { authorization: `Bearer ${key}` })).body.messages as { content: string }[];
    assert.ok(history.some((m) => m.content === 'Sure, my e-mail is <EMAIL_4>'));
  });

  it('the extractive provider quoting a planted knowledge document gives the API caller the token, not the value', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Extractive PII bot', settings: { allowedDomains: ['docs.example.com'] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const prj = r.body.project.id as string;
    const doc = await owner.client.post(`/v1/projects/${prj}/documents`, { title: 'Contacts', contentType: 'text', content: 'Contact reference <EMAIL_1> for all enquiries.' });
    assert.equal(doc.status, 201, JSON.stringify(doc.body));
    const token = await visitor(prj);
    const { conversationId } = await send(prj, token, `Mail ${raw.email}`);
    const key = await apiKey(owner, ['chat:write', 'chat:read']);
    const sse = await streamed(`/v1/conversations/${conversationId}/messages`, { authorization: `Bearer ${key}` }, { content: 'contact reference' });
    assert.ok(sse.includes('<EMAIL_1>'), sse);
    assert.ok(!sse.includes(raw.email), 'the API caller got the visitor’s e-mail');
    const own = await send(prj, token, 'contact reference', conversationId);
    assert.ok(own.content.includes(raw.email), own.content);
  });
});

describe('messages of one conversation at once', () => {
  it('two messages protected at the same moment drew the same new token: the later is refused 409 whole, never a 500', async () => {
    const conversationId = (await owner.client.post(`/v1/projects/${projectId}/conversations`)).body.conversation.id as string;
    const protect = (email: string) =>
      t.services.pii.protect({ orgId: owner.orgId, conversationId, subjectId: conversationId, text: `write to ${email}`, policy: defaultPiiPolicy, callerIsSubject: false, matchEarlierValues: true });
    const [first, second] = await Promise.all([protect('alice@example.com'), protect('bob@example.com')]);
    assert.equal(first.text, 'write to <EMAIL_1>');
    assert.equal(second.text, 'write to <EMAIL_1>', 'both read the vault before either wrote');
    await withTenant(t.database.db, owner.orgId, (tx) => first.persist(tx));
    await assert.rejects(
      withTenant(t.database.db, owner.orgId, (tx) => second.persist(tx)),
      (error: unknown) => error instanceof AppError && error.code === 'conflict',
    );
    const vault = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pii_vault WHERE conversation_id = ${conversationId}`.execute(t.database.db);
    assert.equal(vault.rows[0]?.n, 1, 'only the first message’s value');
  });

  it(`messages of different types protected at once cannot take a vault past ${MAX_VAULT_ENTRIES} values together: the later is refused 409`, async () => {
    const conversationId = (await owner.client.post(`/v1/projects/${projectId}/conversations`)).body.conversation.id as string;
    const protect = (text: string) =>
      t.services.pii.protect({ orgId: owner.orgId, conversationId, subjectId: conversationId, text, policy: defaultPiiPolicy, callerIsSubject: false, matchEarlierValues: true });
    const filled = await protect(Array.from({ length: MAX_VAULT_ENTRIES - 5 }, (_, i) => `u${i}@example.com`).join(' '));
    await withTenant(t.database.db, owner.orgId, (tx) => filled.persist(tx));
    // Each sees room for five; different types draw different tokens, so no unique key stops the second.
    const [mails, phones] = await Promise.all([
      protect(Array.from({ length: 5 }, (_, i) => `late${i}@example.com`).join(' ')),
      protect(`call ${Array.from({ length: 5 }, (_, i) => `+44 20 7946 010${i}`).join(' or ')}`),
    ]);
    assert.ok(!mails.text.includes('[REDACTED]') && !phones.text.includes('[REDACTED]'), 'both read the vault before either wrote');
    assert.equal(phones.findings.filter((f) => f.type === 'PHONE').length, 5);
    await withTenant(t.database.db, owner.orgId, (tx) => mails.persist(tx));
    await assert.rejects(
      withTenant(t.database.db, owner.orgId, (tx) => phones.persist(tx)),
      (error: unknown) => error instanceof AppError && error.code === 'conflict',
    );
    const vault = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pii_vault WHERE conversation_id = ${conversationId}`.execute(t.database.db);
    assert.equal(vault.rows[0]?.n, MAX_VAULT_ENTRIES);
  });
});

describe("a conversation's vault is bounded", () => {
  it(`holds at most ${MAX_VAULT_ENTRIES} values: later new ones are redacted, never stored; known ones keep their tokens`, async () => {
    const conversationId = (await owner.client.post(`/v1/projects/${projectId}/conversations`)).body.conversation.id as string;
    const emails = (from: number, n: number) => Array.from({ length: n }, (_, i) => `u${from + i}@example.com`).join(' ');
    const protect = async (text: string) => {
      const shielded = await t.services.pii.protect({ orgId: owner.orgId, conversationId, subjectId: conversationId, text, policy: defaultPiiPolicy, callerIsSubject: true, matchEarlierValues: true });
      await withTenant(t.database.db, owner.orgId, (tx) => shielded.persist(tx));
      return shielded.text;
    };
    const first = await protect(emails(0, MAX_VAULT_ENTRIES - 2));
    assert.ok(!first.includes('[REDACTED]'));
    const second = await protect(`${emails(MAX_VAULT_ENTRIES - 2, 4)} and again u0@example.com`);
    assert.equal(second, `<EMAIL_${MAX_VAULT_ENTRIES - 1}> <EMAIL_${MAX_VAULT_ENTRIES}> [REDACTED] [REDACTED] and again <EMAIL_1>`);
    assert.ok(!second.includes('@'), 'no raw value past the cap');
    const vault = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pii_vault WHERE conversation_id = ${conversationId}`.execute(t.database.db);
    assert.equal(vault.rows[0]?.n, MAX_VAULT_ENTRIES);
  });
});

describe('a visitor who leaves mid-answer', () => {
  it('keeps the question but stores no truncated answer (it would be replayed to the provider as a whole one)', async () => {
    const token = await visitor(projectId);
    stub.mode = 'stall';
    const controller = new AbortController();
    try {
      const res = await fetch(`${t.url}/v1/widget/${projectId}/messages`, {
        method: 'POST',
        headers: { origin, authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'What is the refund policy?' }),
        signal: controller.signal,
      });
      assert.equal(res.status, 200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let seen = '';
      while (!seen.includes('event: delta')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      const conversationId = /"conversationId":"([^"]+)"/.exec(seen)?.[1];
      assert.ok(conversationId, seen);
      controller.abort();
      // The server notices the closed connection and ends the provider's stream.
      let messages: { role: string; content: string }[] = [];
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        messages = (await owner.client.get(`/v1/conversations/${conversationId}/messages`)).body.messages;
      }
      assert.deepEqual(messages.map((m) => m.role), ['user'], JSON.stringify(messages));
    } finally {
      stub.mode = 'normal';
    }
  });

  it('a JSON (not streamed) request that the client abandons stops the provider call too, long before its timeout', async () => {
    const token = await visitor(projectId);
    stub.mode = 'stall';
    try {
      const controller = new AbortController();
      const sent = fetch(`${t.url}/v1/widget/${projectId}/messages`, {
        method: 'POST',
        headers: { origin, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'And the refund policy for annual plans?' }),
        signal: controller.signal,
      }).catch(() => undefined);
      for (let i = 0; i < 50 && stub.open === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(stub.open, 1, 'the provider is being asked');
      controller.abort();
      await sent;
      // The provider's own idle timeout here is 15 s: only the abandoned request can close it sooner.
      for (let i = 0; i < 100 && stub.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(stub.open, 0, 'the provider call was ended');
    } finally {
      stub.mode = 'normal';
    }
  });
});

describe('token consistency', () => {
  it('the same value keeps its token in a conversation; a new value gets the next number', async () => {
    const token = await visitor(projectId);
    const first = await send(projectId, token, `Mail ${raw.email}`);
    assert.match(lastSent().question, /^Mail <EMAIL_1>$/);
    await send(projectId, token, `Again ${raw.email}, and also sam.poe@example.org`, first.conversationId);
    assert.equal(lastSent().question, 'Again <EMAIL_1>, and also <EMAIL_2>');
  });

  it('a new conversation starts its tokens at 1 again', async () => {
    const token = await visitor(projectId);
    await send(projectId, token, 'Only sam.poe@example.org this time');
    assert.equal(lastSent().question, 'Only <EMAIL_1> this time');
  });

  it('hash: the same value hashes alike across conversations of one organisation, differently in another', async () => {
    const hashPolicy = { operators: { EMAIL: 'hash' } };
    const other = await signUp(t, 'Other PII Org', 'other');
    const mine = await project(owner, hashPolicy);
    const theirs = await project(other, hashPolicy);
    const hashOf = async (prj: string): Promise<string> => {
      await send(prj, await visitor(prj), `Mail ${raw.email}`);
      const m = /^Mail (<EMAIL_HASH_[0-9a-f]{12}>)$/.exec(lastSent().question);
      assert.ok(m?.[1], lastSent().question);
      return m[1];
    };
    const a1 = await hashOf(mine);
    const a2 = await hashOf(mine);
    const b = await hashOf(theirs);
    assert.equal(a1, a2);
    assert.notEqual(a1, b);
    assertNoRaw(lastSent().all, 'a hashed request');
  });
});

describe('storage', () => {
  // Last: the PGlite file scan blocks the event loop for seconds, which can race a keep-alive socket.
  it('stores no raw PII anywhere: every table read as text, and the raw storage files', async () => {
    const { rows: tables } = await sql<{ schema: string; name: string }>`
      SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`.execute(t.database.db);
    assert.ok(tables.some((x) => x.name === 'pii_vault') && tables.some((x) => x.name === 'messages'));
    for (const table of tables) {
      const { rows } = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(`${table.schema}.${table.name}`)} t`.execute(t.database.db);
      assertNoRaw(rows.map((r) => r.row).join('\n'), `${table.schema}.${table.name}`);
    }
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pii_vault WHERE conversation_id = ${firstConversation}`.execute(t.database.db);
    assert.equal(Number(rows[0]?.n), 4);
    // Bytes on disk (PGlite: every file, WAL included; PostgreSQL: the tables again). One probe: it is slow.
    assert.deepEqual(await scanForPlaintext(t, raw.card), [], 'the card number is in raw storage');
  });
});
