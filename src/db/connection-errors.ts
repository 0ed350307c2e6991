/**
 * Errors that mean the database connection was lost or could not be made, as opposed to a
 * statement that failed: the request may succeed if retried once the database is back.
 */

// postgres.js's own codes, and the socket errors it passes through.
const DRIVER_CODES = new Set([
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECTION_CLOSED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

// admin_shutdown, crash_shutdown, cannot_connect_now: the server ends or refuses the session.
const SERVER_SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);

// Class 08 (connection exception): five characters, digits and upper-case letters.
const CONNECTION_EXCEPTION = /^08[0-9A-Z]{3}$/;

// Drizzle wraps driver errors (DrizzleQueryError) with the driver's error as the cause.
const MAX_CAUSE_DEPTH = 5;

function isConnectionCode(code: unknown): boolean {
  if (typeof code !== 'string') return false;
  return (
    DRIVER_CODES.has(code) || SERVER_SHUTDOWN_STATES.has(code) || CONNECTION_EXCEPTION.test(code)
  );
}

/** True when `error`, or an error it wraps, says the database connection was lost or refused. */
export function isConnectionLoss(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth += 1) {
    if (typeof current !== 'object' || current === null) return false;
    if (isConnectionCode((current as { code?: unknown }).code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
