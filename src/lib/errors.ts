/**
 * Every error the API can answer with has a stable, greppable code registered here.
 * Features add their codes to this one table so that clients can rely on them.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, title: 'Bad request' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  invalid_cursor: { status: 400, title: 'Invalid cursor' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'Invalid token' },
  forbidden: { status: 403, title: 'Forbidden' },
  insufficient_scope: { status: 403, title: 'Insufficient scope' },
  login_required: { status: 403, title: 'Interactive login required' },
  registration_disabled: { status: 403, title: 'Registration disabled' },
  route_not_found: { status: 404, title: 'Route not found' },
  not_found: { status: 404, title: 'Not found' },
  user_not_found: { status: 404, title: 'User not found' },
  session_not_found: { status: 404, title: 'Session not found' },
  token_not_found: { status: 404, title: 'Token not found' },
  project_not_found: { status: 404, title: 'Project not found' },
  member_not_found: { status: 404, title: 'Member not found' },
  task_not_found: { status: 404, title: 'Task not found' },
  comment_not_found: { status: 404, title: 'Comment not found' },
  job_not_found: { status: 404, title: 'Job not found' },
  calendar_not_found: { status: 404, title: 'Calendar feed not found' },
  export_not_found: { status: 404, title: 'Export not found' },
  webhook_not_found: { status: 404, title: 'Webhook not found' },
  delivery_not_found: { status: 404, title: 'Delivery not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  not_acceptable: { status: 406, title: 'Not acceptable' },
  conflict: { status: 409, title: 'Conflict' },
  email_taken: { status: 409, title: 'Email already registered' },
  member_exists: { status: 409, title: 'Already a member' },
  last_owner: { status: 409, title: 'A project keeps at least one owner' },
  sole_owner: { status: 409, title: 'Sole owner of a shared project' },
  webhook_disabled: { status: 409, title: 'Webhook disabled' },
  event_expired: { status: 409, title: 'Event no longer kept' },
  idempotency_key_in_use: { status: 409, title: 'Request with this key still in progress' },
  export_expired: { status: 410, title: 'Export expired' },
  precondition_failed: { status: 412, title: 'Precondition failed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  upgrade_required: { status: 426, title: 'Upgrade required' },
  validation_failed: { status: 422, title: 'Validation failed' },
  idempotency_key_reused: { status: 422, title: 'Idempotency key reused with another request' },
  invalid_password: { status: 422, title: 'Password not accepted' },
  invalid_token_value: { status: 422, title: 'Invalid or expired token' },
  invalid_recurrence: { status: 422, title: 'Invalid recurrence rule' },
  invalid_timezone: { status: 422, title: 'Invalid time zone' },
  webhook_url_forbidden: { status: 422, title: 'Webhook URL not allowed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  too_many_streams: { status: 429, title: 'Too many open streams' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  database_unavailable: { status: 503, title: 'Database unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  location: 'body' | 'query' | 'path' | 'header';
  field: string;
  message: string;
  code: string;
}

export interface AppErrorOptions {
  cause?: unknown;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

/** The one error family of the service; the error handler turns it into an RFC 9457 problem. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    const entry = ERROR_CODES[code];
    super(detail ?? entry.title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = entry.status;
    this.title = entry.title;
    this.errors = options.errors;
    this.headers = options.headers;
  }
}

export function problemType(code: string): string {
  return `urn:docket:problem:${code}`;
}
