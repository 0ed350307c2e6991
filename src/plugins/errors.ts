import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isConnectionLoss } from '../db/connection-errors.js';
import {
  AppError,
  ERROR_CODES,
  type ErrorCode,
  type FieldError,
  problemType,
} from '../lib/errors.js';
import { validationFieldErrors } from '../lib/validation.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

// A lost connection is usually back within a second: the pool reconnects on the next query.
const DATABASE_RETRY_AFTER_SECONDS = '1';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
};

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'service_unavailable',
};

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  errors?: FieldError[],
): FastifyReply {
  const { status, title } = ERROR_CODES[code];
  const problem: Problem = {
    type: problemType(code),
    title,
    status,
    detail,
    code,
    request_id: request.id,
  };
  if (errors !== undefined) problem.errors = errors;
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

const HTTP_PARTS = ['params', 'body', 'querystring', 'headers'] as const;
const REQUEST_PARTS = {
  params: 'params',
  body: 'body',
  querystring: 'query',
  headers: 'headers',
} as const;

/**
 * Fastify stops at the first part of the request that fails; the other parts are checked
 * here too, so one answer lists every failing field.
 */
function allFieldErrors(request: FastifyRequest, error: FastifyError): FieldError[] {
  const errors: FieldError[] = [];
  for (const part of HTTP_PARTS) {
    if (part === error.validationContext) {
      errors.push(...validationFieldErrors(error.validation ?? [], part));
      continue;
    }
    if (request.routeOptions.schema?.[part] === undefined) continue;
    const validate = request.getValidationFunction(part);
    if (validate && !validate(request[REQUEST_PARTS[part]])) {
      errors.push(...validationFieldErrors(validate.errors ?? [], part));
    }
  }
  return errors;
}

function toAppError(request: FastifyRequest, error: FastifyError): AppError {
  if (error instanceof AppError) return error;
  if (isConnectionLoss(error)) {
    return new AppError('database_unavailable', 'The database is unavailable; retry shortly.', {
      cause: error,
      headers: { 'retry-after': DATABASE_RETRY_AFTER_SECONDS },
    });
  }
  if (error.validation) {
    const errors = allFieldErrors(request, error);
    return new AppError('validation_failed', 'The request has invalid fields; see errors.', {
      errors,
      cause: error,
    });
  }
  const status = error.statusCode ?? 500;
  const mapped = FASTIFY_CODES[error.code] ?? STATUS_CODES[status];
  if (mapped !== undefined) {
    const detail =
      mapped === 'malformed_json'
        ? 'The request body is not valid JSON.'
        : mapped === 'payload_too_large'
          ? 'The request body is larger than the limit of 1 MiB.'
          : mapped === 'service_unavailable'
            ? 'The service is overloaded or unavailable; retry later.'
            : error.message;
    return new AppError(mapped, detail, { cause: error });
  }
  if (status >= 400 && status < 500)
    return new AppError('bad_request', error.message, { cause: error });
  return new AppError('internal_error', 'The server could not complete the request.', {
    cause: error,
  });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  return sendProblem(
    request,
    reply,
    'route_not_found',
    `No route matches ${request.method} ${path}.`,
  );
}

/** One handler for every error: RFC 9457 problems, no internals on 5xx. */
export default fp(
  async function errorsPlugin(app: FastifyInstance) {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const appError = toAppError(request, error);
      if (appError.statusCode >= 500) {
        request.log.error({ err: error }, 'request failed');
      } else if (appError.code === 'validation_failed' || appError.statusCode === 400) {
        request.log.info({ code: appError.code }, 'rejected request');
      }
      if (appError.headers) reply.headers(appError.headers);
      return sendProblem(request, reply, appError.code, appError.message, appError.errors);
    });
  },
  { name: 'errors' },
);
