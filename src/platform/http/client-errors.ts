/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a malformed request line, headers
 * past the size limit, a request that timed out): answered on the socket directly, but with the
 * same security headers and problem+json body as every other error, and a request id to quote.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

function statusOf(error: NodeJS.ErrnoException): number {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (error.code === 'HPE_HEADER_OVERFLOW') return 431;
  return 400;
}

export function clientErrorHandler(headers: Readonly<Record<string, string>>) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    // A connection reset: nothing can be written.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status = statusOf(error);
    const code = status === 408 ? 'request_timeout' : status === 431 ? 'headers_too_large' : 'invalid_request';
    const body = JSON.stringify({
      type: `urn:palisade:problem:${code}`,
      title: STATUS_CODES[status],
      status,
      code,
      detail: status === 408 ? 'The request did not arrive in time.' : status === 431 ? 'The request headers are too large.' : 'The request could not be read.',
      requestId: randomUUID(),
    });
    const lines = Object.entries({ ...headers, 'Content-Type': 'application/problem+json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' }).map(([k, v]) => `${k}: ${v}`);
    // As Node and Fastify do: written if it can be, then the socket is closed at once (end() would
    // wait on a TLS connection whose handshake never started, keeping it open).
    if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
    socket.destroy(error);
  };
}
