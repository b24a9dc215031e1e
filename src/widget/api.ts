/**
 * The widget's HTTP client: config, visitor sessions and streamed messages. It turns every
 * reply into a tagged result; it never touches the DOM.
 */
import { createSseParser } from './sse.ts';
import type { SessionStore } from './session-store.ts';

export interface WidgetConfig {
  readonly name: string;
  readonly greeting: string;
  readonly color: string;
  readonly requireIdentity: boolean;
}

export type Identity = { readonly userId: string; readonly signature: string } | { readonly token: string };

export interface Failure {
  /** A problem+json `code`, or `network` / `bad_response` when there was none. */
  readonly code: string;
  readonly status: number;
  readonly detail: string;
  readonly retryAfterSeconds: number | null;
}

export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export interface Citation {
  readonly title: string;
  readonly url: string | null;
}

export interface StreamHandlers {
  onDelta(text: string): void;
  onCitations(citations: readonly Citation[]): void;
}

export interface ApiClient {
  config(): Promise<Result<WidgetConfig>>;
  send(content: string, handlers: StreamHandlers, signal: AbortSignal): Promise<Result<null>>;
  /** Whether this names another visitor than before (whose message under way is then no longer theirs). */
  setIdentity(identity: Identity | null): boolean;
  /** Back to an anonymous visitor with nothing stored: no session token, no conversation. */
  forget(): void;
}

export interface ApiDeps {
  readonly base: string;
  readonly projectId: string;
  readonly store: SessionStore;
  readonly identity: Identity | null;
  readonly now: () => number;
}

type Json = Record<string, unknown>;

const requestTimeoutMs = 15_000;

/** Whose message is under way: a sign-out or another identity meanwhile makes it nobody's. */
interface Owner {
  readonly who: string;
  readonly identity: Identity | null;
  readonly generation: number;
}

export function createApiClient(deps: ApiDeps): ApiClient {
  const root = `${deps.base}/v1/widget/${encodeURIComponent(deps.projectId)}`;
  let identity = deps.identity;
  let who = fingerprint(identity);
  /** Moves on with every change of visitor, also from one anonymous visitor to the next (forget). */
  let generation = 0;

  async function request(path: string, init: RequestInit, timeout: boolean): Promise<Result<Response>> {
    // Aborted before it began (a sign-out while a session was being opened): no request at all.
    if (init.signal?.aborted) return aborted();
    const controller = new AbortController();
    const timer = timeout ? setTimeout(() => controller.abort(), requestTimeoutMs) : undefined;
    const outer = init.signal;
    outer?.addEventListener('abort', () => controller.abort());
    try {
      const res = await fetch(`${root}${path}`, { ...init, signal: controller.signal, credentials: 'omit', mode: 'cors' });
      return res.ok ? { ok: true, value: res } : { ok: false, failure: await problem(res) };
    } catch {
      const code = outer?.aborted ? 'aborted' : 'network';
      return { ok: false, failure: { code, status: 0, detail: '', retryAfterSeconds: null } };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the message is still its owner's: not aborted, and the visitor has not changed since it began. */
  const live = (owner: Owner, signal: AbortSignal): boolean => !signal.aborted && owner.generation === generation;

  async function token(owner: Owner, force: boolean, signal: AbortSignal): Promise<Result<string>> {
    const cached = force ? null : deps.store.session(owner.who, deps.now());
    if (cached) return { ok: true, value: cached.token };
    const res = await request(
      '/sessions',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(owner.identity ? { identity: owner.identity } : {}), signal },
      true,
    );
    if (!res.ok) return res;
    const body = await json(res.value);
    // A session opened for someone who has signed out since must never be kept for whoever is next.
    if (!live(owner, signal)) return aborted();
    // By this machine's clock from the lifetime, when the server gives it: the absolute time on a
    // clock hours off made every message open a new session (and a new conversation).
    const expiresIn = body?.['expiresIn'];
    const expiresAt = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? deps.now() + expiresIn * 1000 : toMillis(body?.['expiresAt']);
    const value = body?.['token'];
    if (typeof value !== 'string' || expiresAt === null) return badResponse();
    deps.store.saveSession(owner.who, { token: value, expiresAt });
    return { ok: true, value };
  }

  async function post(owner: Owner, content: string, bearer: string, signal: AbortSignal): Promise<Result<Response>> {
    const conversationId = deps.store.conversationId(owner.who);
    return request(
      '/messages',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', Authorization: `Bearer ${bearer}` },
        body: JSON.stringify(conversationId ? { content, conversationId } : { content }),
        signal,
      },
      false,
    );
  }

  return {
    async config() {
      const res = await request('/config', { headers: { Accept: 'application/json' } }, true);
      if (!res.ok) return res;
      const body = await json(res.value);
      if (!body) return badResponse();
      return {
        ok: true,
        value: {
          name: text(body['name'], 'Chat'),
          greeting: text(body['greeting'], ''),
          color: text(body['color'], ''),
          requireIdentity: body['requireIdentity'] === true,
        },
      };
    },

    async send(content, handlers, signal) {
      // Everything this message stores goes under the visitor who sent it, and only while they are current.
      const owner: Owner = { who, identity, generation };
      let bearer = await token(owner, false, signal);
      if (!bearer.ok) return bearer;
      let res = await post(owner, content, bearer.value, signal);
      if (!res.ok && res.failure.code === 'invalid_visitor_token' && live(owner, signal)) {
        deps.store.clearSession(owner.who);
        bearer = await token(owner, true, signal);
        if (!bearer.ok) return bearer;
        res = await post(owner, content, bearer.value, signal);
      }
      if (!res.ok && res.failure.status === 404 && live(owner, signal) && deps.store.conversationId(owner.who) !== null) {
        // The stored conversation is gone (retention, erasure): start a new one.
        deps.store.saveConversationId(owner.who, null);
        res = await post(owner, content, bearer.value, signal);
      }
      if (!res.ok) return res;
      if (!live(owner, signal)) return aborted();
      const read = await readStream(res.value, handlers, (id) => {
        if (live(owner, signal)) deps.store.saveConversationId(owner.who, id);
      });
      // A read cut off because the visitor changed or signed out is not a connection problem.
      return !read.ok && !live(owner, signal) ? aborted() : read;
    },

    setIdentity(next) {
      const nextWho = fingerprint(next);
      // The same visitor named again (a page identifying on every load) is no change of visitor.
      const changed = nextWho !== who;
      if (changed) generation++;
      identity = next;
      who = nextWho;
      return changed;
    },

    forget() {
      deps.store.forget();
      identity = null;
      who = fingerprint(null);
      generation++;
    },
  };
}

async function readStream(res: Response, handlers: StreamHandlers, onConversation: (id: string) => void): Promise<Result<null>> {
  if (!res.body) return badResponse();
  let outcome: Result<null> | null = null;
  const parser = createSseParser(({ event, data }) => {
    if (outcome) return;
    let body: Json | null = null;
    try {
      const parsed: unknown = JSON.parse(data);
      if (parsed !== null && typeof parsed === 'object') body = parsed as Json;
    } catch {
      return;
    }
    if (!body) return;
    if (event === 'meta' && typeof body['conversationId'] === 'string') onConversation(body['conversationId']);
    else if (event === 'delta' && typeof body['text'] === 'string') handlers.onDelta(body['text']);
    else if (event === 'citations' && Array.isArray(body['citations'])) handlers.onCitations(citations(body['citations']));
    else if (event === 'done') outcome = { ok: true, value: null };
    else if (event === 'error') {
      outcome = {
        ok: false,
        failure: { code: text(body['code'], 'stream_error'), status: 200, detail: text(body['message'], ''), retryAfterSeconds: null },
      };
    }
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  try {
    while (!outcome) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
  } catch {
    return { ok: false, failure: { code: 'network', status: 0, detail: '', retryAfterSeconds: null } };
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return outcome ?? { ok: false, failure: { code: 'interrupted', status: 200, detail: '', retryAfterSeconds: null } };
}

async function problem(res: Response): Promise<Failure> {
  const body = await json(res);
  return {
    code: text(body?.['code'], `http_${res.status}`),
    status: res.status,
    detail: text(body?.['detail'], ''),
    retryAfterSeconds: retryAfter(res.headers.get('Retry-After')) ?? retryAfter(body?.['retryAfter']),
  };
}

function retryAfter(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.max(1, Math.ceil(value));
  if (typeof value !== 'string' || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Math.max(1, Number(value.trim()));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

function citations(items: readonly unknown[]): Citation[] {
  return items.slice(0, 20).flatMap((item) => {
    if (item === null || typeof item !== 'object') return [];
    const { title, url } = item as Json;
    if (typeof title !== 'string') return [];
    return [{ title: title.slice(0, 300), url: typeof url === 'string' ? url : null }];
  });
}

async function json(res: Response): Promise<Json | null> {
  try {
    const body: unknown = await res.json();
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Json) : null;
  } catch {
    return null;
  }
}

function toMillis(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e12 ? value * 1000 : value;
  if (typeof value !== 'string') return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function aborted<T>(): Result<T> {
  return { ok: false, failure: { code: 'aborted', status: 0, detail: '', retryAfterSeconds: null } };
}

function badResponse<T>(): Result<T> {
  return { ok: false, failure: { code: 'bad_response', status: 0, detail: '', retryAfterSeconds: null } };
}

/**
 * Which visitor the stored session belongs to, as a short hash so no user id lands in storage.
 * A JWT is keyed by its subject: a page may mint a fresh token on every load for the same user.
 */
function fingerprint(identity: Identity | null): string {
  if (!identity) return 'anonymous';
  const source = 'token' in identity ? `t:${jwtSubject(identity.token) ?? identity.token}` : `u:${identity.userId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) {
    hash ^= source.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

function jwtSubject(token: string): string | null {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    const sub = claims !== null && typeof claims === 'object' ? (claims as Json)['sub'] : undefined;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}
