/**
 * The one place errors become HTTP: RFC 9457 application/problem+json with a stable `code`
 * and the request id. Validation failures name the field; anything unexpected is a 500 whose
 * reply says nothing about its cause (the log has it).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, errorStatus, type ErrorCode } from './errors.ts';

const titles: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'Invalid request',
  not_found: 'Not found',
  internal: 'Internal error',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  requestId: string;
  errors?: { field: string; message: string }[];
  [extra: string]: unknown;
}

export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  extra: { errors?: Problem['errors']; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
): FastifyReply {
  const status = errorStatus[code];
  const body: Problem = {
    ...extra.details,
    type: `urn:palisade:problem:${code}`,
    title: titles[code] ?? code.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()),
    status,
    code,
    detail,
    requestId: String(reply.request.id),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
  if (extra.headers) reply.headers(extra.headers);
  if (code === 'invalid_api_key') reply.header('WWW-Authenticate', 'Bearer error="invalid_token"');
  return reply.code(status).type('application/problem+json; charset=utf-8').send(body);
}

function fieldPath(location: string, path: readonly PropertyKey[]): string {
  return [location, ...path.map(String)].filter(Boolean).join('.');
}

// PostgreSQL refusing a character it cannot store (NUL, or bytes invalid in the encoding): the
// guards refuse these first; this keeps any path they miss a 400 rather than a 500.
const unstorableText = new Set(['22021', '22P05']);

const fastifyCodes: Record<string, { code: ErrorCode; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', detail: 'The request body is too large.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', detail: 'Send JSON (Content-Type: application/json).' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_request', detail: 'The JSON body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_request', detail: 'The body is not valid JSON.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_request', detail: 'Content-Length does not match the body.' },
};

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, error.code, error.message, { details: error.details, headers: error.headers });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const location = error.validationContext ?? 'body';
      const errors = error.validation.map((v) => {
        const path = v.instancePath.split('/').filter(Boolean);
        // Unknown fields are reported on their parent; name the field itself.
        const keys = (v.params as { keys?: unknown }).keys;
        if (v.keyword === 'unrecognized_keys' && Array.isArray(keys) && typeof keys[0] === 'string') path.push(keys[0]);
        return { field: fieldPath(location, path), message: v.message ?? 'is not valid' };
      });
      const first = errors[0];
      const detail = first ? `${first.field}: ${first.message}` : 'The request is not valid.';
      return sendProblem(reply, 'invalid_request', detail, { errors });
    }
    // A unique constraint two concurrent requests raced for (two sign-ups with one address): the
    // checks before the write could not see the other request's row.
    if (error.code === '23505') {
      request.log.warn({ constraint: (error as { constraint?: string }).constraint, table: (error as { table?: string }).table }, 'a unique constraint refused a write');
      return sendProblem(reply, 'conflict', 'This was created by another request at the same time. Reload and try again.');
    }
    if (typeof error.code === 'string' && unstorableText.has(error.code)) {
      return sendProblem(reply, 'invalid_request', 'The request contains text that cannot be stored (such as the NUL character).');
    }
    const known = error.code ? fastifyCodes[error.code] : undefined;
    if (known) return sendProblem(reply, known.code, known.detail);
    if (error instanceof SyntaxError || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
      return sendProblem(reply, error.statusCode === 413 ? 'payload_too_large' : 'invalid_request', 'The request is not valid.');
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(reply, 'internal', 'Something went wrong on our side. Quote the request id if you contact support.');
  });

  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
}
