import type { FastifyReply } from 'fastify';
import type { AppError } from '../lib/errors.js';

/** RFC 6749 §5.2 error codes, plus the two §4.1.2.1 codes for answers the client did not cause. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable'
  | 'server_error';

/** Statuses an OAuth2 route keeps; every other client error is 400, as RFC 6749 §5.2 says. */
const KEPT_STATUSES = new Set([413, 415, 429]);

/** Sends `{error, error_description}` with the no-store headers RFC 6749 §5.1 asks for. */
export function sendOAuthError(
  reply: FastifyReply,
  status: number,
  error: OAuthErrorCode,
  description: string,
): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send({ error, error_description: description });
}

/**
 * The error handler's answer on a route declaring `config: { oauthErrors: true }`: OAuth2
 * clients (Swagger UI among them) read `error_description`, not an RFC 9457 problem.
 */
export function sendAppErrorAsOAuth(reply: FastifyReply, appError: AppError): FastifyReply {
  const status = appError.statusCode;
  if (status >= 500 || status === 429) {
    const error = status === 500 ? 'server_error' : 'temporarily_unavailable';
    return sendOAuthError(reply, status, error, appError.message);
  }
  return sendOAuthError(
    reply,
    KEPT_STATUSES.has(status) ? status : 400,
    'invalid_request',
    appError.message,
  );
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors of this route use the RFC 6749 shape (`error`, `error_description`). */
    oauthErrors?: boolean;
  }
}
