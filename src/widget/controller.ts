/**
 * Wires the view to the API: loads the project's config, sends messages, streams answers in and
 * turns every failure into words for the visitor. Owns no DOM of its own.
 */
import type { ApiClient, Failure, Identity, Result } from './api.ts';
import type { AssistantMessage, PalisadeChat } from './chat-element.ts';

export interface PalisadeApi {
  open(): void;
  close(): void;
  identify(identity: Identity): void;
  /** Call when the page's user signs out: the next visitor starts anonymous, with nothing of theirs. */
  reset(): void;
}

const unavailableText = 'Chat unavailable';

export function startWidget(view: PalisadeChat, api: ApiClient, identified: boolean): PalisadeApi {
  let configured = false;
  let configRetryable = false;
  let requireIdentity = false;
  let hasIdentity = identified;
  let inflight: AbortController | null = null;

  function updateComposer(): void {
    if (!configured) view.setComposer(false, 'Connecting…');
    else if (requireIdentity && !hasIdentity) view.setComposer(false, 'Sign in to chat');
    else view.setComposer(true, 'Ask a question…');
  }

  async function loadConfig(): Promise<void> {
    configRetryable = false;
    const result = await api.config();
    if (result.ok) {
      configured = true;
      requireIdentity = result.value.requireIdentity;
      view.setUnavailable(null);
      view.configure(result.value.name, result.value.color, result.value.greeting);
    } else {
      // A refusal (403 off the allowed domains, 404 unknown project) is final; anything else may pass.
      configRetryable = result.failure.status !== 403 && result.failure.status !== 404;
      view.setUnavailable(configRetryable ? `${unavailableText} right now. Please try again later.` : unavailableText);
    }
    updateComposer();
  }

  async function send(text: string): Promise<void> {
    view.addUser(text);
    view.setBusy(true);
    inflight = new AbortController();
    let answer = null as AssistantMessage | null;
    const bubble = (): AssistantMessage => (answer ??= view.startAssistant());
    const result = await api
      .send(text, { onDelta: (delta) => bubble().append(delta), onCitations: (list) => bubble().citations(list) }, inflight.signal)
      .catch((): Result<null> => ({ ok: false, failure: { code: 'internal', status: 0, detail: '', retryAfterSeconds: null } }))
      .finally(() => {
        inflight = null;
        view.setBusy(false);
      });
    if (result.ok) {
      answer?.finish();
      return;
    }
    if (result.failure.code === 'aborted') return;
    if (result.failure.code === 'origin_not_allowed') {
      view.setUnavailable(unavailableText);
      return;
    }
    const message = describe(result.failure);
    if (answer) answer.fail(message);
    else view.notice(message);
  }

  view.connect({
    onSend: (text) => void send(text),
    onOpen: () => {
      if (configRetryable) void loadConfig();
    },
    onDisconnect: () => inflight?.abort(),
  });
  updateComposer();
  void loadConfig();

  return {
    open: () => view.open(),
    close: () => view.close(),
    identify(identity) {
      // Another visitor now: the answer still streaming, and the panel, were the previous one's.
      if (api.setIdentity(checkIdentity(identity))) {
        inflight?.abort();
        view.clearMessages();
      }
      hasIdentity = true;
      updateComposer();
    },
    reset() {
      inflight?.abort();
      api.forget();
      hasIdentity = false;
      view.clearMessages();
      updateComposer();
    },
  };
}

function describe(failure: Failure): string {
  if (failure.code === 'rate_limited' || failure.status === 429) {
    const wait = failure.retryAfterSeconds === null ? 'in a moment' : `in ${failure.retryAfterSeconds} s`;
    return `You're sending messages too quickly. Please slow down and try again ${wait}.`;
  }
  if (failure.code === 'invalid_identity') return "We couldn't verify who you are. Please sign in again.";
  if (failure.code === 'network') return 'Connection problem. Please check your connection and try again.';
  if (failure.code === 'interrupted') return 'The answer was interrupted. Please try again.';
  if (failure.status === 200 && failure.detail) return failure.detail;
  return 'Something went wrong. Please try again.';
}

/** identify() is called by the host page's code: refuse a wrong shape loudly rather than send it. */
export function checkIdentity(value: unknown): Identity {
  const v = (value ?? {}) as Record<string, unknown>;
  const ok = (s: unknown, max: number): s is string => typeof s === 'string' && s.length > 0 && s.length <= max;
  // The server's limits, so a claim it would refuse is refused here, where the page's developer sees why.
  if (ok(v['token'], 4096) && v['token'].length >= 10) return { token: v['token'] };
  if (ok(v['userId'], 200) && typeof v['signature'] === 'string' && /^[0-9a-fA-F]{64}$/.test(v['signature'])) return { userId: v['userId'], signature: v['signature'] };
  throw new TypeError('Palisade.identify expects { userId, signature } or { token }');
}
