/**
 * A tiny OpenAI-compatible Chat Completions server on 127.0.0.1 for tests: it streams a fixed
 * reply as server-sent events and records every request it receives (headers and parsed body),
 * so tests can assert what a provider was sent. Modes: normal, http500, hang (never answers),
 * stall (sends part of the answer, then goes silent).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubMode = 'normal' | 'http500' | 'hang' | 'stall';

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: { model?: string; stream?: boolean; messages?: { role: string; content: string }[] } & Record<string, unknown>;
}

export interface OpenAiStub {
  /** Base URL to configure, e.g. http://127.0.0.1:1234/v1 */
  baseUrl: string;
  requests: StubRequest[];
  mode: StubMode;
  /** The answer streamed in normal mode, sent in pieces of a few words. */
  reply: string;
  /** Requests whose connection is still open (a caller that gave up closes its request). */
  open: number;
  close(): Promise<void>;
}

function words(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

function event(res: ServerResponse, content: string | null, finish: string | null = null): void {
  const chunk = { id: 'chatcmpl-stub', object: 'chat.completion.chunk', created: 0, model: 'stub', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] };
  res.write(`data: ${JSON.stringify(chunk)}\n\n`);
}

export async function startOpenAiStub(options: { mode?: StubMode; reply?: string } = {}): Promise<OpenAiStub> {
  const stub = {
    requests: [] as StubRequest[],
    mode: options.mode ?? ('normal' as StubMode),
    reply: options.reply ?? 'The answer is in the passages [1].',
    open: 0,
  };
  const server = createServer((req, res) => {
    stub.open += 1;
    res.on('close', () => (stub.open -= 1));
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      let body: StubRequest['body'] = {};
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as StubRequest['body'];
      } catch {
        /* recorded as empty */
      }
      stub.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      if (stub.mode === 'hang') return;
      if (stub.mode === 'http500') {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'internal secret detail sk-live-abc' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      event(res, '');
      const pieces = words(stub.reply);
      if (stub.mode === 'stall') {
        event(res, pieces[0] ?? 'partial');
        return; // and never another byte
      }
      for (const piece of pieces) event(res, piece);
      event(res, null, 'stop');
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(stub, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
