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
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: logRedactPaths, censor: '[redacted]' } };
}
