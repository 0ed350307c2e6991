import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** `null` selects the embedded PGlite database kept in `dataDir`. */
  readonly databaseUrl: string | null;
  readonly databasePoolSize: number;
  readonly dataDir: string;
  readonly redisUrl: string | null;
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  readonly redisKeyPrefix: string;
  readonly jwtSecret: string;
  /** Lifetime of an access JWT, in seconds. */
  readonly accessTokenTtlSeconds: number;
  /** Absolute lifetime of a login (its refresh-token family), in seconds. */
  readonly refreshTokenTtlSeconds: number;
  /** A login unused for this long can no longer be refreshed, in seconds. */
  readonly refreshIdleTimeoutSeconds: number;
  readonly registrationEnabled: boolean;
  /** Requests per minute per client on the token and registration routes. */
  readonly authRateLimitMax: number;
  readonly firstSuperuser: { email: string; password: string } | null;
  /** `null`: mails are written to the log instead of being sent. */
  readonly smtpUrl: string | null;
  readonly mailFrom: string;
  readonly corsOrigins: readonly string[];
  readonly rateLimitMax: number;
  readonly trustProxy: boolean | number | readonly string[];
  readonly publicUrl: string;
  readonly shutdownTimeoutMs: number;
  /** How long to keep serving after SIGTERM, with readiness failing, before closing the listener. */
  readonly shutdownDrainDelayMs: number;
  /** Event-loop delay in ms above which requests are shed with 503; 0 disables. */
  readonly maxEventLoopDelayMs: number;
  /** Bearer token `/metrics` asks for; `null` leaves it open (firewall it then). */
  readonly metricsToken: string | null;
  /** How long a live session is remembered, in ms (0 off, at most 1000); see session-cache.ts. */
  readonly sessionCacheTtlMs: number;
  /** Declares that exactly one instance runs: caches may then serve without Redis. */
  readonly singleInstance: boolean;
  /** Whether this process runs background jobs; `false` serves HTTP only (see `npm run worker`). */
  readonly workers: boolean;
  /** How often an idle worker looks for jobs, in ms. */
  readonly jobPollIntervalMs: number;
  /** A running job not finished after this long counts as crashed and is retried, in seconds. */
  readonly jobTimeoutSeconds: number;
  /** On shutdown, how long running jobs get to finish before the rest is left for a restart, in ms. */
  readonly jobShutdownTimeoutMs: number;
  /** Attempts after the first for a mail that could not be sent. */
  readonly mailRetryLimit: number;
  /** First delay before a mail is retried, in seconds; it doubles with each attempt. */
  readonly mailRetryDelaySeconds: number;
  /** Events older than this many days are purged. */
  readonly eventsRetentionDays: number;
  /** Largest CSV file `POST /projects/{id}/imports` accepts, in bytes. */
  readonly importMaxBytes: number;
  /** Seconds before each webhook retry (jittered); its length is the number of retries. */
  readonly webhookRetryDelaysSeconds: readonly number[];
  /** Ports a webhook URL may name. */
  readonly webhookAllowedPorts: readonly number[];
  /** Lifts the address and port checks of webhook URLs (development and tests only). */
  readonly webhookAllowPrivate: boolean;
  /** A webhook delivery's whole budget (connect, send, read the answer), in ms. */
  readonly webhookTimeoutMs: number;
  /** Open event streams (SSE and WebSocket) one user may hold on one instance. */
  readonly realtimeMaxConnectionsPerUser: number;
  /** Open event streams one instance holds at most. */
  readonly realtimeMaxConnections: number;
  /** How often streams are pinged (`: ping`, WebSocket ping), in ms. */
  readonly realtimePingIntervalMs: number;
  /** How often the sessions and tokens behind open streams are checked, in ms. */
  readonly realtimeAuthCheckIntervalMs: number;
}

/** Thrown when the environment holds a value the service cannot start with. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];
const MIN_SECRET_BYTES = 32;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return value as T;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return Number(value);
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  }
  return value;
}

/** A Redis URL whose path, if any, is a database number (`redis://host:6379/2`). */
function redisUrl(env: Env): string | null {
  const value = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  if (value === undefined) return null;
  const database = new URL(value).pathname.replace(/^\//, '');
  if (database !== '' && !/^\d{1,2}$/.test(database)) {
    throw new ConfigError('REDIS_URL', `its path must be a database number (got "/${database}")`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${value}")`);
}

function firstSuperuser(env: Env): Config['firstSuperuser'] {
  const email = read(env, 'FIRST_SUPERUSER_EMAIL');
  const password = read(env, 'FIRST_SUPERUSER_PASSWORD');
  if (email === undefined && password === undefined) return null;
  if (email === undefined || !/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw new ConfigError(
      'FIRST_SUPERUSER_EMAIL',
      'must be an email address when FIRST_SUPERUSER_PASSWORD is set',
    );
  }
  if (password === undefined || password.length < 8) {
    throw new ConfigError(
      'FIRST_SUPERUSER_PASSWORD',
      'must be at least 8 characters when FIRST_SUPERUSER_EMAIL is set',
    );
  }
  return { email: email.toLowerCase(), password };
}

function trustProxy(env: Env): Config['trustProxy'] {
  const value = read(env, 'TRUST_PROXY');
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const list = value.split(',').map((item) => item.trim());
  if (list.some((item) => !/^[0-9a-fA-F.:/]+$/.test(item))) {
    throw new ConfigError(
      'TRUST_PROXY',
      'must be true, false, a hop count or a comma list of addresses/CIDRs',
    );
  }
  return list;
}

function corsOrigins(env: Env): string[] {
  const value = read(env, 'CORS_ORIGINS');
  if (value === undefined) return [];
  return value.split(',').map((origin) => {
    const trimmed = origin.trim();
    if (trimmed === '*') {
      throw new ConfigError('CORS_ORIGINS', 'list the allowed origins; "*" is not accepted');
    }
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `"${trimmed}" is not an origin`);
    }
    if (parsed.origin !== trimmed.replace(/\/$/, '')) {
      throw new ConfigError('CORS_ORIGINS', `"${trimmed}" is not a bare origin`);
    }
    return parsed.origin;
  });
}

/** Reads `DATA_DIR/jwt-secret`, creating it on first use, so development tokens survive restarts. */
function developmentSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(48).toString('base64url');
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

function jwtSecret(env: Env, nodeEnv: NodeEnv, dataDir: string): string {
  const value = read(env, 'JWT_SECRET');
  if (value === undefined) {
    if (nodeEnv === 'production') {
      throw new ConfigError(
        'JWT_SECRET',
        `is required in production (at least ${MIN_SECRET_BYTES} bytes)`,
      );
    }
    return nodeEnv === 'test' ? randomBytes(48).toString('base64url') : developmentSecret(dataDir);
  }
  if (Buffer.byteLength(value) < MIN_SECRET_BYTES) {
    throw new ConfigError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (nodeEnv === 'production' && /^(changeme|changethis|secret)/i.test(value)) {
    throw new ConfigError('JWT_SECRET', 'is a placeholder; generate a random secret');
  }
  return value;
}

function metricsToken(env: Env): string | null {
  const value = read(env, 'METRICS_TOKEN');
  if (value === undefined) return null;
  // It travels as `Authorization: Bearer <token>`, so it must be a token68 and hard to guess.
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(value) || value.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      'METRICS_TOKEN',
      `must be at least ${MIN_SECRET_BYTES} characters of A-Z a-z 0-9 . _ ~ + / = -`,
    );
  }
  return value;
}

/** A comma list of integers within `min`…`max`, at least one. */
function integerList(
  env: Env,
  name: string,
  fallback: readonly number[],
  min: number,
  max: number,
): readonly number[] {
  const value = read(env, name);
  if (value === undefined) return Object.freeze([...fallback]);
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => !/^\d{1,9}$/.test(item) || Number(item) < min || Number(item) > max)) {
    throw new ConfigError(
      name,
      `must be a comma list of integers from ${min} to ${max} (got "${value}")`,
    );
  }
  return Object.freeze(items.map(Number));
}

/** Validates the environment once; the result is frozen and passed to whoever needs it. */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', NODE_ENVS, 'development');
  const port = integer(env, 'PORT', 8000, 0, 65535);
  const dataDir = resolve(read(env, 'DATA_DIR') ?? './data');
  const config: Config = {
    nodeEnv,
    port,
    host: read(env, 'HOST') ?? '0.0.0.0',
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']) ?? null,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    dataDir,
    redisUrl: redisUrl(env),
    redisKeyPrefix: read(env, 'REDIS_KEY_PREFIX') ?? 'docket:',
    jwtSecret: jwtSecret(env, nodeEnv, dataDir),
    accessTokenTtlSeconds: integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 60, 86_400),
    refreshTokenTtlSeconds: integer(
      env,
      'REFRESH_TOKEN_TTL_SECONDS',
      30 * 86_400,
      300,
      365 * 86_400,
    ),
    refreshIdleTimeoutSeconds: integer(
      env,
      'REFRESH_IDLE_TIMEOUT_SECONDS',
      7 * 86_400,
      300,
      365 * 86_400,
    ),
    registrationEnabled: boolean(env, 'REGISTRATION_ENABLED', true),
    authRateLimitMax: integer(env, 'AUTH_RATE_LIMIT_MAX', 20, 1, 1_000_000),
    firstSuperuser: firstSuperuser(env),
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']) ?? null,
    mailFrom: read(env, 'MAIL_FROM') ?? 'Docket <no-reply@localhost>',
    corsOrigins: Object.freeze(corsOrigins(env)),
    rateLimitMax: integer(env, 'RATE_LIMIT_MAX', 600, 1, 1_000_000),
    trustProxy: trustProxy(env),
    publicUrl: (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(
      /\/$/,
      '',
    ),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    shutdownDrainDelayMs: integer(env, 'SHUTDOWN_DRAIN_DELAY_MS', 1_000, 0, 60_000),
    maxEventLoopDelayMs: integer(env, 'MAX_EVENT_LOOP_DELAY_MS', 1_000, 0, 60_000),
    metricsToken: metricsToken(env),
    workers: boolean(env, 'WORKERS', true),
    sessionCacheTtlMs: integer(env, 'SESSION_CACHE_TTL_MS', 1_000, 0, 1_000),
    singleInstance: boolean(env, 'SINGLE_INSTANCE', false),
    jobPollIntervalMs: integer(env, 'JOB_POLL_INTERVAL_MS', 2_000, 500, 600_000),
    jobTimeoutSeconds: integer(env, 'JOB_TIMEOUT_SECONDS', 900, 1, 86_400),
    jobShutdownTimeoutMs: integer(env, 'JOB_SHUTDOWN_TIMEOUT_MS', 5_000, 0, 600_000),
    mailRetryLimit: integer(env, 'MAIL_RETRY_LIMIT', 10, 0, 100),
    mailRetryDelaySeconds: integer(env, 'MAIL_RETRY_DELAY_SECONDS', 30, 1, 86_400),
    eventsRetentionDays: integer(env, 'EVENTS_RETENTION_DAYS', 90, 7, 36_500),
    importMaxBytes: integer(env, 'IMPORT_MAX_BYTES', 10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    webhookRetryDelaysSeconds: integerList(
      env,
      'WEBHOOK_RETRY_DELAYS',
      [5, 300, 1800, 7200, 18_000, 36_000, 36_000],
      0,
      7 * 86_400,
    ),
    webhookAllowedPorts: integerList(env, 'WEBHOOK_ALLOWED_PORTS', [80, 443], 1, 65_535),
    webhookAllowPrivate: boolean(env, 'WEBHOOK_ALLOW_PRIVATE', false),
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    realtimeMaxConnectionsPerUser: integer(env, 'REALTIME_MAX_CONNECTIONS_PER_USER', 20, 1, 10_000),
    realtimeMaxConnections: integer(env, 'REALTIME_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    realtimePingIntervalMs: integer(env, 'REALTIME_PING_INTERVAL_MS', 15_000, 100, 300_000),
    realtimeAuthCheckIntervalMs: integer(
      env,
      'REALTIME_AUTH_CHECK_INTERVAL_MS',
      5_000,
      100,
      300_000,
    ),
  };
  if (!config.workers && config.databaseUrl === null) {
    throw new ConfigError(
      'WORKERS',
      'false needs DATABASE_URL: the embedded database belongs to one process, which must run the jobs too',
    );
  }
  if (config.jobShutdownTimeoutMs >= config.shutdownTimeoutMs) {
    throw new ConfigError('JOB_SHUTDOWN_TIMEOUT_MS', 'must be less than SHUTDOWN_TIMEOUT_MS');
  }
  return Object.freeze(config);
}

/** A configuration for tests and tools: defaults plus the given overrides. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...loadConfig({ NODE_ENV: 'test' }), ...overrides });
}
