import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const SECRET = 'x'.repeat(40);

function errorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('when nothing is set, then it serves on 0.0.0.0:8000 with the embedded database', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-config-'));
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      port: 8000,
      host: '0.0.0.0',
      nodeEnv: 'development',
      databaseUrl: null,
      redisUrl: null,
      corsOrigins: [],
      trustProxy: false,
      publicUrl: 'http://localhost:8000',
      workers: true,
      eventsRetentionDays: 90,
      sessionCacheTtlMs: 1000,
      singleInstance: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when in development without JWT_SECRET, then a generated secret is kept in DATA_DIR', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-config-'));
    const first = loadConfig({ DATA_DIR: dataDir });
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(readFileSync(join(dataDir, 'jwt-secret'), 'utf8')).toBe(first.jwtSecret);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ NODE_ENV: 'production', JWT_SECRET: '' }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production', JWT_SECRET: `changethis${SECRET}` }, 'JWT_SECRET'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ SESSION_CACHE_TTL_MS: '1001' }, 'SESSION_CACHE_TTL_MS'],
    [{ SINGLE_INSTANCE: 'maybe' }, 'SINGLE_INSTANCE'],
    [{ REDIS_URL: 'redis://cache:6379/abc' }, 'REDIS_URL'],
    [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'nope' }, 'CORS_ORIGINS'],
    [{ RATE_LIMIT_MAX: '0' }, 'RATE_LIMIT_MAX'],
    [{ TRUST_PROXY: 'evil; rm' }, 'TRUST_PROXY'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
    [{ METRICS_TOKEN: `${SECRET} with spaces` }, 'METRICS_TOKEN'],
    [{ EVENTS_RETENTION_DAYS: '6' }, 'EVENTS_RETENTION_DAYS'],
    [{ WORKERS: 'maybe' }, 'WORKERS'],
    [{ WORKERS: 'false' }, 'WORKERS'],
    [{ JOB_POLL_INTERVAL_MS: '100' }, 'JOB_POLL_INTERVAL_MS'],
    [{ MAIL_RETRY_DELAY_SECONDS: '0' }, 'MAIL_RETRY_DELAY_SECONDS'],
    [{ JOB_SHUTDOWN_TIMEOUT_MS: '10000' }, 'JOB_SHUTDOWN_TIMEOUT_MS'],
    [{ IMPORT_MAX_BYTES: '100' }, 'IMPORT_MAX_BYTES'],
    [{ WEBHOOK_RETRY_DELAYS: '5,soon' }, 'WEBHOOK_RETRY_DELAYS'],
    [{ WEBHOOK_RETRY_DELAYS: '5,,10' }, 'WEBHOOK_RETRY_DELAYS'],
    [{ WEBHOOK_ALLOWED_PORTS: '0' }, 'WEBHOOK_ALLOWED_PORTS'],
    [{ WEBHOOK_ALLOWED_PORTS: '443,70000' }, 'WEBHOOK_ALLOWED_PORTS'],
    [{ WEBHOOK_ALLOW_PRIVATE: 'yes' }, 'WEBHOOK_ALLOW_PRIVATE'],
    [{ WEBHOOK_TIMEOUT_MS: '10' }, 'WEBHOOK_TIMEOUT_MS'],
    [{ REALTIME_MAX_CONNECTIONS_PER_USER: '0' }, 'REALTIME_MAX_CONNECTIONS_PER_USER'],
    [{ REALTIME_MAX_CONNECTIONS: 'many' }, 'REALTIME_MAX_CONNECTIONS'],
    [{ REALTIME_PING_INTERVAL_MS: '10' }, 'REALTIME_PING_INTERVAL_MS'],
    [{ REALTIME_AUTH_CHECK_INTERVAL_MS: '0' }, 'REALTIME_AUTH_CHECK_INTERVAL_MS'],
  ])('when %o, then it refuses naming %s', (env, variable) => {
    const error = errorFor({ JWT_SECRET: SECRET, ...env });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it('when REDIS_URL names a database number, then it is kept as given', () => {
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379/2' }).redisUrl).toBe('redis://cache:6379/2');
  });

  it('when values are valid, then they are parsed', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      PORT: '9000',
      DATABASE_URL: 'postgres://u@db:5432/docket',
      REDIS_URL: 'redis://cache:6379',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:3000/',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      PUBLIC_URL: 'https://tasks.example.com/',
      RATE_LIMIT_MAX: '100',
      METRICS_TOKEN: SECRET,
      WORKERS: 'false',
      JOB_POLL_INTERVAL_MS: '1000',
      JOB_TIMEOUT_SECONDS: '60',
      JOB_SHUTDOWN_TIMEOUT_MS: '3000',
      MAIL_RETRY_LIMIT: '3',
      MAIL_RETRY_DELAY_SECONDS: '5',
      EVENTS_RETENTION_DAYS: '7',
      IMPORT_MAX_BYTES: '2048',
      WEBHOOK_RETRY_DELAYS: '1, 2,3',
      WEBHOOK_ALLOWED_PORTS: '443,8443',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_TIMEOUT_MS: '5000',
      REALTIME_MAX_CONNECTIONS_PER_USER: '5',
      REALTIME_MAX_CONNECTIONS: '500',
      REALTIME_PING_INTERVAL_MS: '1000',
      REALTIME_AUTH_CHECK_INTERVAL_MS: '2000',
      SESSION_CACHE_TTL_MS: '250',
      SINGLE_INSTANCE: 'true',
    });
    expect(config).toMatchObject({
      port: 9000,
      jwtSecret: SECRET,
      databaseUrl: 'postgres://u@db:5432/docket',
      redisUrl: 'redis://cache:6379',
      corsOrigins: ['https://app.example.com', 'http://localhost:3000'],
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      publicUrl: 'https://tasks.example.com',
      rateLimitMax: 100,
      logLevel: 'info',
      metricsToken: SECRET,
      workers: false,
      jobPollIntervalMs: 1000,
      jobTimeoutSeconds: 60,
      jobShutdownTimeoutMs: 3000,
      mailRetryLimit: 3,
      mailRetryDelaySeconds: 5,
      eventsRetentionDays: 7,
      importMaxBytes: 2048,
      webhookRetryDelaysSeconds: [1, 2, 3],
      webhookAllowedPorts: [443, 8443],
      webhookAllowPrivate: true,
      webhookTimeoutMs: 5000,
      realtimeMaxConnectionsPerUser: 5,
      realtimeMaxConnections: 500,
      realtimePingIntervalMs: 1000,
      realtimeAuthCheckIntervalMs: 2000,
      sessionCacheTtlMs: 250,
      singleInstance: true,
    });
    expect(loadConfig({ JWT_SECRET: SECRET })).toMatchObject({
      webhookRetryDelaysSeconds: [5, 300, 1800, 7200, 18_000, 36_000, 36_000],
      webhookAllowedPorts: [80, 443],
      webhookAllowPrivate: false,
      webhookTimeoutMs: 10_000,
    });
    expect(loadConfig({ TRUST_PROXY: '2', JWT_SECRET: SECRET }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'true', JWT_SECRET: SECRET }).trustProxy).toBe(true);
  });
});
