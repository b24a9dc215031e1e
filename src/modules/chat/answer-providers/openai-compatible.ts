/**
 * Answers from any endpoint speaking the OpenAI Chat Completions protocol (OpenAI, Azure, vLLM,
 * Ollama, llama.cpp server), streamed. Bounded in time (a total timeout and an idle timeout that
 * also covers the first byte) and in size. Failures become AppError('provider_error') with a
 * message that never includes the API key or the provider's reply.
 */
import { AppError } from '../../../platform/http/errors.ts';
import { BlockedAddressError, LookupsBusyError } from '../../../platform/net/guarded-fetch.ts';
import { buildMessages } from './prompt.ts';
import { sseData } from './sse.ts';
import { citationsOf, type AnswerEvent, type AnswerInput, type AnswerProvider } from './types.ts';

export interface OpenAiCompatibleOptions {
  baseUrl: string;
  model: string;
  /** The key, or how to fetch it when a request is made (a project's stored key is read then). */
  apiKey?: string | (() => Promise<string | undefined>) | undefined;
  /** The whole answer, first byte to last. */
  timeoutMs: number;
  /** Longest silence before the first byte or between two chunks (default: min(timeoutMs, 15 s)). */
  idleTimeoutMs?: number;
  fetch?: typeof fetch;
}

const maxReplyBytes = 1_000_000;
const timedOut = (): AppError => new AppError('provider_error', 'The answer provider did not respond in time.');

interface StreamChunk {
  choices?: { delta?: { content?: unknown }; message?: { content?: unknown }; finish_reason?: unknown }[];
  error?: unknown;
}

function parseChunk(data: string): StreamChunk {
  try {
    const value: unknown = JSON.parse(data);
    if (value && typeof value === 'object') return value as StreamChunk;
  } catch {
    /* reported below */
  }
  throw new AppError('provider_error', 'The answer provider sent a reply that is not Chat Completions.');
}

/**
 * The body as text chunks. Each read races the abort signal itself rather than trusting the
 * fetch implementation to fail a pending read on abort (it does not always, on Node 20).
 */
async function* decoded(body: ReadableStream<Uint8Array>, onChunk: () => void, signal: AbortSignal): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const aborted = new Promise<never>((_resolve, reject) => {
    const fail = (): void => reject(new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      onChunk();
      yield decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

export function createOpenAiCompatibleProvider(options: OpenAiCompatibleOptions): AnswerProvider {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const idleMs = options.idleTimeoutMs ?? Math.min(options.timeoutMs, 15_000);

  return {
    async *answer(input: AnswerInput): AsyncGenerator<AnswerEvent> {
      // One controller, aborted by the idle timer, the total timer or the caller. (Not
      // AbortSignal.any: on Node 20 a composed signal can be garbage-collected mid-request, and
      // its abort then never reaches fetch.)
      const controller = new AbortController();
      const signal = controller.signal;
      let timedOutFlag = false;
      const expire = (): void => {
        timedOutFlag = true;
        controller.abort();
      };
      const totalTimer = setTimeout(expire, options.timeoutMs);
      const onCallerAbort = (): void => controller.abort();
      input.signal?.addEventListener('abort', onCallerAbort, { once: true });
      if (input.signal?.aborted) controller.abort();
      let timer: NodeJS.Timeout | undefined;
      const pause = (): void => clearTimeout(timer);
      const restart = (): void => {
        pause();
        timer = setTimeout(expire, idleMs);
      };
      restart();
      try {
        const apiKey = typeof options.apiKey === 'function' ? await options.apiKey() : options.apiKey;
        const response = await doFetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          },
          body: JSON.stringify({ model: options.model, stream: true, messages: buildMessages(input) }),
          // A redirect could carry the key to another host.
          redirect: 'error',
          signal,
        });
        if (!response.ok || !response.body) {
          await response.body?.cancel().catch(() => undefined);
          throw new AppError('provider_error', `The answer provider replied with HTTP ${response.status}.`);
        }
        let finished = false;
        for await (const data of sseData(decoded(response.body, restart, signal), maxReplyBytes)) {
          if (data.trim() === '[DONE]') {
            finished = true;
            break;
          }
          const chunk = parseChunk(data);
          if (chunk.error !== undefined) throw new AppError('provider_error', 'The answer provider reported an error.');
          const choice = chunk.choices?.[0];
          const text = choice?.delta?.content ?? choice?.message?.content;
          if (typeof text === 'string' && text.length > 0) {
            pause();
            yield { type: 'delta', text };
            restart();
          }
          if (typeof choice?.finish_reason === 'string') finished = true;
        }
        if (!finished) throw new AppError('provider_error', 'The answer provider ended the answer early.');
      } catch (error) {
        if (input.signal?.aborted) return; // the caller went away: nothing to report
        if (timedOutFlag) throw timedOut();
        if (error instanceof AppError) throw error;
        if (error instanceof BlockedAddressError) throw new AppError('provider_error', 'The answer provider is not on an address this server may call (public addresses; private networks only where the operator allows them, link-local space and cloud metadata never).');
        if (error instanceof LookupsBusyError) throw new AppError('provider_error', "The answer provider's name could not be looked up: this server's DNS look-ups are busy. Try again shortly.");
        throw new AppError('provider_error', 'The answer provider could not be reached.');
      } finally {
        pause();
        clearTimeout(totalTimer);
        input.signal?.removeEventListener('abort', onCallerAbort);
        controller.abort(); // releases the connection if the stream is left early
      }
      if (input.passages.length > 0) yield { type: 'citations', citations: citationsOf(input.passages) };
    },
  };
}
