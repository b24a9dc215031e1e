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
const ADDRESS_IN_PATH = /^(.*\/rate-limit-blocks\/ip\/)([^/]*)(?:\/(\d{1,3}))?$/;

function decoded(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/**
 * Matched on the decoded path, as the router reads it ("%69p" is "ip"); an IPv6 client's key is a
 * network ("…/ip/2001:db8:1:2::%2F64"), whose address part is cut further. A path that cannot be
 * decoded is matched as it came.
 */
function loggedPath(path: string, clientNetwork: (ip: string) => string): string {
  const match = ADDRESS_IN_PATH.exec(decoded(path) ?? path);
  if (!match) return path;
  return `${match[1] ?? ''}${clientNetwork(match[2] ?? '')}`;
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
