import Type, { type Static, type TSchema } from 'typebox';
import { ERROR_CODES, type ErrorCode } from './errors.js';

/** The longest `detail` and `errors[]` a problem carries; longer input is cut, never echoed whole. */
export const PROBLEM_DETAIL_MAX = 1000;
export const PROBLEM_ERRORS_MAX = 100;
export const PROBLEM_FIELD_MAX = 200;

type JsonObject = Record<string, unknown>;

const PROBLEM_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** Problem body (RFC 9457) as documented on every error response. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ maxLength: 100, description: '`urn:docket:problem:<code>`.' }),
    title: Type.String({ maxLength: 100 }),
    status: Type.Integer({ format: 'int32', minimum: 400, maximum: 599 }),
    detail: Type.String({ maxLength: PROBLEM_DETAIL_MAX }),
    code: Type.Union(
      PROBLEM_CODES.map((code) => Type.Literal(code)),
      { description: 'Stable error code, e.g. `task_not_found`.' },
    ),
    request_id: Type.String({ maxLength: 128 }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          location: Type.Union([
            Type.Literal('body'),
            Type.Literal('query'),
            Type.Literal('path'),
            Type.Literal('header'),
          ]),
          field: Type.String({ maxLength: PROBLEM_FIELD_MAX }),
          message: Type.String({ maxLength: PROBLEM_DETAIL_MAX }),
          code: Type.String({ maxLength: 50, description: 'e.g. `missing`, `too_long`.' }),
        }),
        {
          maxItems: PROBLEM_ERRORS_MAX,
          description: `Every failing field (at most ${PROBLEM_ERRORS_MAX}).`,
        },
      ),
    ),
  },
  { description: 'An RFC 9457 problem.' },
);

export const authenticated: { security: Record<string, string[]>[] } = {
  security: [{ bearer: [] }, { oauth2: [] }],
};

const ETAG_MAX = 100;

export const IfMatchHeaderSchema = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: ETAG_MAX,
      description: 'Apply only if the resource still has this ETag (else 412).',
    }),
  ),
});

export const IfNoneMatchHeaderSchema = Type.Object({
  'if-none-match': Type.Optional(
    Type.String({
      maxLength: ETAG_MAX,
      description: 'Answer 304 if the resource still has this ETag.',
    }),
  ),
});

export const IdempotencyHeaderSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      maxLength: 255,
      description:
        'Retry-safe creation: the same key and body within 24 h replay the first answer; a different body is 422.',
    }),
  ),
});

/** Error responses every authenticated route may give. */
export const errorResponses = {
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  422: ProblemSchema,
  // `database_unavailable` (with Retry-After) when the database connection is lost, or
  // `service_unavailable` when the instance sheds load.
  503: ProblemSchema,
};

const PROBLEM: JsonObject = ProblemSchema as unknown as JsonObject;
const RESPONSE_DESCRIPTION = 'x-response-description';
const RESPONSE_HEADERS = 'x-response-headers';

/**
 * A response schema with the description the OpenAPI document shows for it, and the headers
 * it carries besides the shared ones.
 */
export function described<T extends TSchema>(
  schema: T,
  description: string,
  headers?: Record<string, JsonObject>,
) {
  return Type.Unsafe<Static<T>>({
    ...schema,
    [RESPONSE_DESCRIPTION]: description,
    ...(headers === undefined ? {} : { [RESPONSE_HEADERS]: headers }),
  });
}

/** The weak `ETag` of a list answer (see `src/lib/list-etag.ts`). */
export const LIST_ETAG_HEADER = {
  ETag: {
    type: 'string',
    maxLength: 100,
    description:
      'Weak validator of this answer; send it back in `If-None-Match` to get 304 while nothing ' +
      'the list covers has changed.',
  },
};

const COUNT = { type: 'integer', format: 'int32', minimum: 0, maximum: 2_147_483_647 };

const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': { ...COUNT, description: 'Requests allowed in the current window.' },
  'X-RateLimit-Remaining': { ...COUNT, description: 'Requests left in the current window.' },
  'X-RateLimit-Reset': { ...COUNT, description: 'Seconds until the window starts again.' },
};
const CORS_ORIGIN = {
  'Access-Control-Allow-Origin': {
    type: 'string',
    maxLength: 200,
    description: 'Sent when the request’s `Origin` is one of `CORS_ORIGINS` (none by default).',
  },
};
const RETRY_AFTER = {
  'Retry-After': { ...COUNT, description: 'Seconds to wait before trying again.' },
};
const WWW_AUTHENTICATE = {
  'WWW-Authenticate': {
    type: 'string',
    maxLength: 100,
    description: '`Bearer`, or `Bearer error="invalid_token"` when a token was sent.',
  },
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400:
    'The body is not valid JSON, the request cannot be read, or the cursor is not one this API ' +
    'issued (`malformed_json`, `bad_request`, `invalid_cursor`).',
  401: 'No token, or a token that is invalid, expired or revoked (`unauthenticated`, `invalid_token`).',
  403:
    'The caller may see the resource but not do this (`forbidden`), or a read-only token was used ' +
    'on a changing method (`insufficient_scope`).',
  404: 'No such resource, or one the caller may not see (`…_not_found`).',
  409: 'The request conflicts with the current state (`conflict` and specific codes).',
  412: '`If-Match` names an older version (`precondition_failed`).',
  413: 'The body is larger than the limit (`payload_too_large`).',
  415: 'The body has a content type this operation does not take (`unsupported_media_type`).',
  422: 'One or more fields are invalid; `errors` lists each (`validation_failed` and specific codes).',
  429: 'The rate limit is spent (`rate_limited`); retry after `Retry-After` seconds.',
  503:
    'The instance is overloaded, shutting down or cannot reach its database ' +
    '(`service_unavailable`); retry after `Retry-After` seconds.',
};

const OAUTH_ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'An RFC 6749 error: `invalid_request`, `invalid_grant` or `unsupported_grant_type`.',
  413: 'The form is larger than 16 KiB (`invalid_request`).',
  415: 'The body is neither form-encoded nor JSON (`invalid_request`).',
  429: 'The rate limit is spent (`temporarily_unavailable`); retry after `Retry-After` seconds.',
  503: 'The instance is overloaded or cannot reach its database (`temporarily_unavailable`).',
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const OPERATION_ID = /^[a-z][a-zA-Z0-9]*$/;

export interface DocumentedRoute {
  method: string | string[];
  url: string;
  config?: unknown;
}

interface RouteConfig {
  rateLimit?: unknown;
  oauthErrors?: boolean;
}

function isProblem(schema: JsonObject): boolean {
  const properties = schema.properties as JsonObject | undefined;
  return properties !== undefined && 'request_id' in properties && 'code' in properties;
}

function successResponse(
  operation: string,
  status: string,
  raw: JsonObject,
  headers: JsonObject,
  produces: string[],
): JsonObject {
  const { [RESPONSE_DESCRIPTION]: description, [RESPONSE_HEADERS]: own, ...schema } = raw;
  if (typeof description !== 'string') {
    throw new Error(`${operation}: the ${status} response needs a description (described())`);
  }
  const response: JsonObject = { description, headers: { ...headers, ...(own as JsonObject) } };
  if (schema.type === 'null') return { ...response, type: 'null' };
  if (schema.content !== undefined) return { ...response, content: schema.content };
  return {
    ...response,
    content: Object.fromEntries(produces.map((mediaType) => [mediaType, { schema }])),
  };
}

function errorResponse(
  status: number,
  raw: JsonObject,
  headers: JsonObject,
  fallback: Record<number, string>,
): JsonObject {
  const { [RESPONSE_DESCRIPTION]: own, ...schema } = raw;
  const generic = schema.description === PROBLEM.description;
  const description =
    typeof own === 'string'
      ? own
      : !generic && typeof schema.description === 'string'
        ? schema.description
        : (fallback[status] ?? ERROR_DESCRIPTIONS[status] ?? 'An error.');
  const mediaType = isProblem(schema) ? 'application/problem+json' : 'application/json';
  return { description, headers, content: { [mediaType]: { schema } } };
}

/**
 * `@fastify/swagger` transform: completes each operation from what the route declares, so that
 * no route repeats the shared parts. Public operations get `security: []`; every operation gets
 * the errors the shared machinery can give (400/413/415 for bodies, 401 for tokens, 422 for
 * validation, 429 for the rate limit, 503 for load shedding and database outages), problem
 * bodies as `application/problem+json`, and the `X-RateLimit-*` and `Retry-After` headers.
 * It refuses an operation without a camelCase `operationId` or a success description.
 */
export function documentOperation<S extends object>(input: {
  schema: S;
  url: string;
  route: DocumentedRoute;
}): { schema: S; url: string } {
  const { url, route } = input;
  const schema = input.schema as JsonObject | undefined;
  if (schema === undefined || schema.hide === true) return input;
  const method = (Array.isArray(route.method) ? route.method[0] : route.method) ?? 'GET';
  const operation = `${method} ${url}`;
  if (typeof schema.operationId !== 'string' || !OPERATION_ID.test(schema.operationId)) {
    throw new Error(`${operation} needs a camelCase operationId`);
  }
  const config = (route.config ?? {}) as RouteConfig;
  const secured = Array.isArray(schema.security) && schema.security.length > 0;
  const limited = config.rateLimit !== false;
  const oauth = config.oauthErrors === true;
  const takesBody = BODY_METHODS.has(method);
  const validates = ['params', 'querystring', 'body', 'headers'].some((part) => part in schema);

  const declared = (schema.response ?? {}) as Record<string, JsonObject>;
  const errorSchema = oauth && declared['400'] !== undefined ? declared['400'] : PROBLEM;
  const errors: Record<number, JsonObject> = {};
  if (takesBody) Object.assign(errors, { 400: errorSchema, 413: errorSchema, 415: errorSchema });
  const query = schema.querystring as { properties?: JsonObject } | undefined;
  // A cursor this API did not issue, or a path parameter that is not valid percent-encoding.
  if (query?.properties?.cursor !== undefined || url.includes(':')) errors[400] = errorSchema;
  if (secured) errors[401] = PROBLEM;
  if (secured && !SAFE_METHODS.has(method)) errors[403] = PROBLEM;
  if (validates && !oauth) errors[422] = PROBLEM;
  if (limited) errors[429] = errorSchema;
  errors[503] = errorSchema;

  const rateHeaders = limited ? { ...CORS_ORIGIN, ...RATE_LIMIT_HEADERS } : CORS_ORIGIN;
  const responses: JsonObject = {};
  const all: Record<string, JsonObject> = { ...errors, ...declared };
  for (const [status, raw] of Object.entries(all)) {
    const code = Number(status);
    if (code < 400) {
      const produces = (schema.produces as string[] | undefined) ?? ['application/json'];
      responses[status] = successResponse(operation, status, raw, rateHeaders, produces);
      continue;
    }
    const headers: JsonObject = { ...(code < 500 ? rateHeaders : CORS_ORIGIN) };
    if (code === 401) Object.assign(headers, WWW_AUTHENTICATE);
    if (code === 429 || code === 503) Object.assign(headers, RETRY_AFTER);
    responses[status] = errorResponse(code, raw, headers, oauth ? OAUTH_ERROR_DESCRIPTIONS : {});
  }
  const documented = { ...schema, security: schema.security ?? [], response: responses };
  return { url, schema: documented as S };
}
