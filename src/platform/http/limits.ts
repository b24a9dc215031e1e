/**
 * Transport limits against slow and greedy clients, as one typed settings object, and the
 * Fastify/Node server options they become. Config (src/config.ts) fills it from the environment.
 */
import { readFileSync } from 'node:fs';

export interface HttpLimits {
  /** Largest request head (request line + headers), bytes. Node answers 431 beyond it. */
  maxHeaderBytes: number;
  /** Deepest JSON nesting accepted in a request body. */
  jsonMaxDepth: number;
  /** Concurrent connections per client address; 0 disables the cap. */
  maxConnectionsPerIp: number;
  /** Concurrent connections in all: over it Node closes new sockets at once (file descriptors and memory stay bounded). */
  maxConnections: number;
  /** A socket idle this long is closed. */
  connectionTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** The whole request must arrive within this. */
  requestTimeoutMs: number;
  /** The request head must arrive within this (slowloris). */
  headersTimeoutMs: number;
}

export const defaultHttpLimits: HttpLimits = {
  maxHeaderBytes: 16 * 1024,
  jsonMaxDepth: 32,
  maxConnectionsPerIp: 64,
  maxConnections: 10_000,
  connectionTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
};

export interface ServerOptions {
  connectionTimeout: number;
  keepAliveTimeout: number;
  requestTimeout: number;
  http?: { maxHeaderSize: number; requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number };
  https?: {
    cert: Buffer;
    key: Buffer;
    minVersion: 'TLSv1.3';
    handshakeTimeout: number;
    maxHeaderSize: number;
    requestTimeout: number;
    headersTimeout: number;
    connectionsCheckingInterval: number;
  };
}

/** Fastify constructor options for these limits, with HTTPS (TLS 1.3 minimum) when configured. */
export function serverOptions(limits: HttpLimits, tls: { certFile: string; keyFile: string } | undefined): ServerOptions {
  const node = {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    // Node requires headersTimeout <= requestTimeout (when the latter is set).
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs || limits.headersTimeoutMs),
    // How often Node checks for the two timeouts above (its default is 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 2))),
  };
  const common = { connectionTimeout: limits.connectionTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs, requestTimeout: limits.requestTimeoutMs };
  if (!tls) return { ...common, http: node };
  // A socket that never finishes its TLS handshake is not yet an HTTP connection, so none of the
  // timeouts above reach it: Node's own handshake limit is 120 s, a long hold for a slowloris.
  const handshakeTimeout = Math.min(limits.headersTimeoutMs, limits.connectionTimeoutMs || limits.headersTimeoutMs);
  return { ...common, https: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), minVersion: 'TLSv1.3', handshakeTimeout, ...node } };
}
