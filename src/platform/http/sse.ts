/**
 * Server-sent events over a hijacked reply. The headers Fastify would have sent (security
 * headers, CORS) are carried over. Stopping the work behind a stream whose client went away is
 * the caller's (chat/reply.ts does it for streamed and JSON replies alike).
 */
import type { FastifyReply } from 'fastify';

export interface EventStream {
  /** One event; with `id`, a client that reconnects sends it back as Last-Event-ID. */
  send(event: string, data: unknown, id?: string): void;
  /** A comment line: keeps proxies from closing an idle stream. */
  comment(text: string): void;
  end(): void;
}

export function wantsEventStream(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('text/event-stream');
}

export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const raw = reply.raw;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value : String(value);
  }
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  return {
    send(event, data, id) {
      if (!raw.writableEnded) raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    comment(text) {
      if (!raw.writableEnded) raw.write(`: ${text}\n\n`);
    },
    end() {
      if (!raw.writableEnded) raw.end();
    },
  };
}
