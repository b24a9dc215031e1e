/** Logger options: structured JSON (pino), with credentials and personal data redacted. */
import type { LoggerOptions } from 'pino';

export const logRedactPaths = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.token',
  '*.secret',
  '*.csrfToken',
  '*.totp',
  '*.recoveryCodes',
  'password',
  'token',
  'secret',
  'recoveryCodes',
  // PostgreSQL errors quote the row's values ("Key (email)=(alice@…) already exists").
  'err.detail',
  'err.where',
  // ioredis errors carry the failed command, whose keys name e-mail addresses and client addresses.
  'err.command',
  'err.previousErrors',
];

interface LoggedRequest {
  method?: unknown;
  url?: unknown;
  ip?: unknown;
}

/** The one route whose path names a client address (lifting its rate-limit block): cut to its network too. */
const ADDRESS_IN_PATH = /^(.*\/rate-limit-blocks\/ip\/)([^/]*)$/;

function loggedPath(path: string, clientNetwork: (ip: string) => string): string {
  const match = ADDRESS_IN_PATH.exec(path);
  if (!match) return path;
  let address = '';
  try {
    address = decodeURIComponent(match[2] ?? '');
  } catch {
    // not percent-encoded properly: no address to keep either
  }
  return `${match[1] ?? ''}${clientNetwork(address)}`;
}

/**
 * `clientNetwork` cuts a client address to what logs keep of it (see rate-limits/ip.ts): request
 * lines carry the method, the path without its query, and that network, never the full address.
 */
export function loggerOptions(level: string, clientNetwork: (ip: string) => string = () => 'unknown'): LoggerOptions {
  return {
    level,
    redact: { paths: logRedactPaths, censor: '[redacted]' },
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: typeof req.url === 'string' ? loggedPath(req.url.split('?', 1)[0] ?? '', clientNetwork) : undefined,
        remoteNetwork: clientNetwork(typeof req.ip === 'string' ? req.ip : ''),
      }),
    },
  };
}
