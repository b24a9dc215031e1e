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
        url: typeof req.url === 'string' ? req.url.split('?', 1)[0] : undefined,
        remoteNetwork: clientNetwork(typeof req.ip === 'string' ? req.ip : ''),
      }),
    },
  };
}
