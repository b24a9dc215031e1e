/**
 * The one error model. Domain code throws AppError with a stable code; the HTTP error
 * handler (platform/http/error-handler.ts) maps codes to statuses and renders RFC 9457
 * problem+json. Messages are written for the person calling the API and never carry
 * secrets, stack traces or whether another organisation's object exists.
 */
export const errorStatus = {
  invalid_request: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  totp_required: 401,
  invalid_api_key: 401,
  invalid_visitor_token: 401,
  invalid_identity: 401,
  sso_failed: 401,
  csrf_failed: 403,
  sso_required: 403,
  forbidden: 403,
  insufficient_scope: 403,
  origin_not_allowed: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  weak_password: 400,
  too_many_attempts: 429,
  rate_limited: 429,
  provider_error: 502,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    extra: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = extra.details;
    this.headers = extra.headers;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export const notFound = (what = 'resource'): AppError => new AppError('not_found', `This ${what} does not exist.`);
export const forbidden = (message = 'You do not have permission to do this.'): AppError =>
  new AppError('forbidden', message);
