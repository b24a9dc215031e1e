/**
 * Turns a message exchange (a stream of ChatEvents) into an HTTP reply: server-sent events when
 * the client accepts them, otherwise one JSON document once the answer is complete. Errors that
 * happen before the first event (unknown conversation, …) are ordinary problem+json replies.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../../platform/http/errors.ts';
import { openEventStream, wantsEventStream } from '../../platform/http/sse.ts';
import { writeRateLimitHeaders } from '../rate-limits/http.ts';
import type { ChatEvent, Citation } from './types.ts';

export async function replyWithAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  start: (signal: AbortSignal) => AsyncGenerator<ChatEvent>,
): Promise<unknown> {
  const abort = new AbortController();
  // A client that goes away before its reply is complete stops the work behind it (a remote
  // provider would otherwise stream on until its timeout), whichever way the reply is sent.
  const onClose = (): void => {
    if (!reply.raw.writableFinished) abort.abort();
  };
  reply.raw.on('close', onClose);
  const events = start(abort.signal);
  const first = await events.next(); // throws before anything is sent: a normal problem reply

  if (wantsEventStream(request.headers.accept)) {
    writeRateLimitHeaders(request, reply); // a streamed reply skips the onSend hook
    const stream = openEventStream(reply);
    try {
      for (let item = first; !item.done; item = await events.next()) {
        const { type, ...data } = item.value;
        stream.send(type, data);
      }
    } catch (error) {
      request.log.error({ err: error }, 'answer stream failed');
      stream.send('error', { code: 'internal', message: 'The answer could not be completed.' });
    } finally {
      stream.end();
    }
    return reply;
  }

  let conversationId = '';
  let messageId = '';
  let content = '';
  let citations: Citation[] = [];
  for (let item = first; !item.done; item = await events.next()) {
    const e = item.value;
    if (e.type === 'meta') ({ conversationId, messageId } = e);
    else if (e.type === 'delta') content += e.text;
    else if (e.type === 'citations') citations = e.citations;
    // The question is stored by now (in a conversation perhaps opened for it): say which, so a
    // retry continues it instead of opening another and storing the question twice.
    else if (e.type === 'error') throw new AppError(e.code as ErrorCode, e.message, conversationId ? { details: { conversationId } } : {});
  }
  return reply.send({ conversationId, message: { id: messageId, role: 'assistant', content, citations } });
}
