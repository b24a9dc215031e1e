import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiClient, type ApiClient, type Citation } from './api.ts';
import { createSessionStore } from './session-store.ts';

/** A Storage backed by a Map: the same contract as the browser's localStorage. */
function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    getItem: (key) => map.get(key) ?? null,
    key: (index) => [...map.keys()][index] ?? null,
    removeItem: (key) => void map.delete(key),
    setItem: (key, value) => void map.set(key, value),
  };
}

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: Record<string, unknown>;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let handler: Handler = (_req, res) => res.end();
let seen: Seen[] = [];
let base = '';
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let raw = '';
  req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  req.on('end', () => {
    const entry = { method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, body: raw ? JSON.parse(raw) : {} };
    seen.push(entry);
    handler(entry, res);
  });
});

function problem(res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: 'about:blank', title: code, status, code, detail: code }));
}

function session(res: ServerResponse, token: string): void {
  res.writeHead(201, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ token, expiresAt: new Date(Date.now() + 3600_000).toISOString(), expiresIn: 3600, visitorId: 'vis_1' }));
}

function stream(res: ServerResponse, events: ReadonlyArray<[string, unknown]>): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream' });
  for (const [event, data] of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.end();
}

function client(storage: Storage): ApiClient {
  return createApiClient({ base, projectId: 'prj_1', store: createSessionStore(base, 'prj_1', storage), identity: null, now: Date.now });
}

async function send(api: ApiClient, content: string): Promise<{ text: string; citations: Citation[]; ok: boolean; code: string; retry: number | null }> {
  let text = '';
  let citations: Citation[] = [];
  const result = await api.send(
    content,
    { onDelta: (delta) => (text += delta), onCitations: (list) => (citations = [...list]) },
    new AbortController().signal,
  );
  return {
    text,
    citations,
    ok: result.ok,
    code: result.ok ? '' : result.failure.code,
    retry: result.ok ? null : result.failure.retryAfterSeconds,
  };
}

describe('widget api client', () => {
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  beforeEach(() => {
    seen = [];
  });

  it('reads the config and reports a refusal by its code', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ projectId: 'prj_1', name: 'Docs', greeting: 'Hi', color: '#123456', requireIdentity: true }));
    };
    assert.deepEqual(await client(memoryStorage()).config(), {
      ok: true,
      value: { name: 'Docs', greeting: 'Hi', color: '#123456', requireIdentity: true },
    });
    handler = (_req, res) => problem(res, 403, 'origin_not_allowed');
    const refused = await client(memoryStorage()).config();
    assert.equal(refused.ok ? '' : refused.failure.code, 'origin_not_allowed');
  });

  it('streams an answer, keeps the conversation and reuses the session across page loads', async () => {
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, 'vt_1');
      stream(res, [
        ['meta', { conversationId: 'conv_1', messageId: 'msg_1' }],
        ['delta', { text: 'Hello ' }],
        ['delta', { text: 'there' }],
        ['citations', { citations: [{ title: 'Guide', url: 'https://x.example/g' }, { title: 'Untitled' }] }],
        ['done', {}],
      ]);
    };
    const storage = memoryStorage();
    const first = await send(client(storage), 'hi');
    assert.deepEqual(first, {
      text: 'Hello there',
      citations: [
        { title: 'Guide', url: 'https://x.example/g' },
        { title: 'Untitled', url: null },
      ],
      ok: true,
      code: '',
      retry: null,
    });
    // A new client on the same storage is the next page load.
    await send(client(storage), 'again');
    assert.deepEqual(
      seen.map((s) => [s.path.replace('/v1/widget/prj_1', ''), s.auth ?? '', s.body['conversationId'] ?? '']),
      [
        ['/sessions', '', ''],
        ['/messages', 'Bearer vt_1', ''],
        ['/messages', 'Bearer vt_1', 'conv_1'],
      ],
    );
  });

  it('forget() signs the visitor out: nothing stored, and the next message opens an anonymous session without the conversation', async () => {
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, req.body['identity'] ? 'vt_verified' : 'vt_anonymous');
      stream(res, [['meta', { conversationId: 'conv_theirs', messageId: 'msg_1' }], ['done', {}]]);
    };
    const storage = memoryStorage();
    const api = client(storage);
    api.setIdentity({ token: 'jwt-of-the-signed-in-user' });
    await send(api, 'mine');
    assert.ok(storage.getItem(`palisade:${base}:prj_1`)?.includes('conv_theirs'));
    api.forget();
    assert.equal(storage.getItem(`palisade:${base}:prj_1`), null, 'nothing left in storage');
    seen = [];
    await send(api, 'next person');
    assert.deepEqual(
      seen.map((s) => [s.path.replace('/v1/widget/prj_1', ''), s.auth ?? '', s.body['conversationId'] ?? '', s.body['identity'] ?? '']),
      [
        ['/sessions', '', '', ''],
        ['/messages', 'Bearer vt_anonymous', '', ''],
      ],
    );
  });

  it("a verified visitor's token is never in the browser's storage: a sign-out that reloads the page leaves the next person nothing to use", async () => {
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, req.body['identity'] ? 'vt_verified' : 'vt_anonymous');
      stream(res, [['meta', { conversationId: req.body['conversationId'] ?? 'conv_of_a', messageId: 'msg_1' }], ['done', {}]]);
    };
    const storage = memoryStorage();
    const key = `palisade:${base}:prj_1`;
    // An earlier version kept it there: it goes when the widget starts.
    storage.setItem(key, JSON.stringify({ who: 'x1', token: 'vt_left_behind', expiresAt: Date.now() + 3_600_000 }));
    const signedIn = client(storage);
    assert.doesNotMatch(storage.getItem(key) ?? '', /vt_left_behind/);
    signedIn.setIdentity({ userId: 'user-a', signature: 'a'.repeat(64) });
    seen = [];
    await send(signedIn, 'first');
    await send(signedIn, 'second');
    assert.deepEqual(seen.map((r) => r.path.replace('/v1/widget/prj_1', '')), ['/sessions', '/messages', '/messages'], 'the page keeps its token in memory');
    assert.doesNotMatch(storage.getItem(key) ?? '', /vt_verified/);
    // The page reloads signed out: the next person's widget is anonymous and finds no token.
    seen = [];
    await send(client(storage), 'next person');
    assert.deepEqual(seen.map((r) => [r.path.replace('/v1/widget/prj_1', ''), r.auth ?? '', r.body['conversationId'] ?? '']), [['/sessions', '', ''], ['/messages', 'Bearer vt_anonymous', '']]);
    // User A comes back on a page load: a new session for them, their conversation continued.
    const again = client(storage);
    again.setIdentity({ userId: 'user-a', signature: 'a'.repeat(64) });
    seen = [];
    await send(again, 'back');
    assert.deepEqual(seen.map((r) => [r.path.replace('/v1/widget/prj_1', ''), r.auth ?? '']), [['/sessions', ''], ['/messages', 'Bearer vt_verified']]);
  });

  it('an answer cut off because the visitor signed out mid-stream is reported as aborted, not as a connection problem', async () => {
    let held: ServerResponse | undefined;
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, 'vt_1');
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(`event: meta\ndata: ${JSON.stringify({ conversationId: 'conv_1', messageId: 'msg_1' })}\n\n`);
      held = res; // the rest never comes
    };
    const api = client(memoryStorage());
    const controller = new AbortController();
    const pending = api.send('hi', { onDelta: () => undefined, onCitations: () => undefined }, controller.signal);
    while (!held) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    api.forget();
    const result = await pending;
    held.end();
    assert.deepEqual(result.ok ? 'ok' : result.failure.code, 'aborted');
  });

  for (const [name, change] of [
    // The widget's reset() aborts the message, then forgets; identify() changes the visitor alone.
    ['signed out (forget)', (api: ApiClient, controller: AbortController) => (controller.abort(), api.forget())],
    ['another person identified', (api: ApiClient) => api.setIdentity({ userId: 'someone-else', signature: 'b'.repeat(64) })],
  ] as const) {
    it(`a session still being opened when the visitor is ${name} is kept for nobody, and no message goes out`, async () => {
      let release: () => void = () => undefined;
      handler = (req, res) => {
        if (req.path.endsWith('/sessions')) {
          release = () => session(res, 'vt_of_the_first');
          return;
        }
        stream(res, [['meta', { conversationId: 'conv_first', messageId: 'msg_1' }], ['delta', { text: 'for the first' }], ['done', {}]]);
      };
      const storage = memoryStorage();
      const api = client(storage);
      assert.equal(api.setIdentity({ userId: 'first-user', signature: 'a'.repeat(64) }), true, 'another visitor than the anonymous one');
      assert.equal(api.setIdentity({ userId: 'first-user', signature: 'a'.repeat(64) }), false, 'the same visitor named again (the widget aborts nothing then)');
      const controller = new AbortController();
      let text = '';
      seen = [];
      const pending = api.send('mine', { onDelta: (d) => (text += d), onCitations: () => undefined }, controller.signal);
      while (!seen.some((s) => s.path.endsWith('/sessions'))) await new Promise((r) => setTimeout(r, 5));
      change(api, controller);
      release();
      const result = await pending;
      assert.equal(result.ok, false);
      assert.equal(text, '', 'no answer shown');
      assert.ok(!(storage.getItem(`palisade:${base}:prj_1`) ?? '').includes('vt_of_the_first'), 'the token is kept for nobody');
      assert.deepEqual(seen.filter((s) => s.path.endsWith('/messages')), [], 'no message went out with it');
    });
  }

  it("times the session by its lifetime on this machine's clock: a clock an hour fast does not open a session per message", async () => {
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, 'vt_1');
      stream(res, [['meta', { conversationId: 'conv_1', messageId: 'msg_1' }], ['done', {}]]);
    };
    const storage = memoryStorage();
    const fast = createApiClient({ base, projectId: 'prj_1', store: createSessionStore(base, 'prj_1', storage), identity: null, now: () => Date.now() + 3_600_000 });
    seen = [];
    await send(fast, 'one');
    await send(fast, 'two');
    assert.deepEqual(seen.map((s) => s.path.replace('/v1/widget/prj_1', '')), ['/sessions', '/messages', '/messages']);
  });

  it('re-creates the session once on invalid_visitor_token', async () => {
    let tokens = 0;
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, `vt_${++tokens}`);
      if (req.auth === 'Bearer vt_1') return problem(res, 401, 'invalid_visitor_token');
      stream(res, [['delta', { text: 'ok' }], ['done', {}]]);
    };
    const result = await send(client(memoryStorage()), 'hi');
    assert.equal(result.text, 'ok');
    assert.equal(tokens, 2);
  });

  it('passes on Retry-After when rate limited', async () => {
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, 'vt_1');
      problem(res, 429, 'rate_limited', { 'Retry-After': '17' });
    };
    const result = await send(client(memoryStorage()), 'hi');
    assert.deepEqual([result.ok, result.code, result.retry], [false, 'rate_limited', 17]);
  });

  it('reports a stream error event and a stream cut short', async () => {
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, 'vt_1');
      stream(res, [['delta', { text: 'par' }], ['error', { code: 'provider_error', message: 'The model is down.' }]]);
    };
    const failed = await send(client(memoryStorage()), 'hi');
    assert.deepEqual([failed.text, failed.code], ['par', 'provider_error']);
    handler = (req, res) => {
      if (req.path.endsWith('/sessions')) return session(res, 'vt_1');
      stream(res, [['delta', { text: 'par' }]]);
    };
    assert.equal((await send(client(memoryStorage()), 'hi')).code, 'interrupted');
  });
});
