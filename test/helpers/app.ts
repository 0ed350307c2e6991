import { PassThrough } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { type App, type BuildOptions, buildApp } from '../../src/app.js';
import { type Config, testConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { openRedis } from '../../src/plugins/redis.js';
import {
  createTestDatabase,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  uniquePrefix,
} from './services.js';

export interface TestAppOptions {
  config?: Partial<Config>;
  /** Connect to Redis; the caller should skip when `redisAvailable()` is false. */
  redis?: boolean;
  /** Collects JSON log lines, for tests that read what was logged. */
  captureLogs?: boolean;
  /** Reach the test database at another address, e.g. through a proxy the test controls. */
  databaseUrl?: (url: string) => string;
  /** How webhook host names resolve (tests play DNS with it). */
  resolveHost?: BuildOptions['resolveHost'];
  /** Register extra test-only routes before the app is ready. */
  setup?: (app: App) => void | Promise<void>;
}

export interface TestApp {
  app: App;
  logs: Record<string, unknown>[];
  databaseUrl: string | null;
  close(): Promise<void>;
}

/** Builds the real app on a database of its own: a fresh Postgres database, else in-memory PGlite. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const testDb = (await postgresAvailable()) ? await createTestDatabase() : null;
  const useRedis = options.redis === true && (await redisAvailable());
  const config = testConfig({
    databaseUrl: testDb ? (options.databaseUrl?.(testDb.url) ?? testDb.url) : null,
    databasePoolSize: 4,
    redisUrl: useRedis ? REDIS_URL : null,
    redisKeyPrefix: uniquePrefix(),
    rateLimitMax: 1_000_000,
    authRateLimitMax: 1_000_000,
    // Load shedding has its own test; elsewhere a machine busy with other suites would get 503s.
    maxEventLoopDelayMs: 0,
    ...options.config,
  });
  const logs: Record<string, unknown>[] = [];
  let logStream: PassThrough | undefined;
  if (options.captureLogs) {
    logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }
  const database = await openDatabase({
    url: config.databaseUrl,
    poolSize: config.databasePoolSize,
  });
  const redis = await openRedis(config.redisUrl);
  const logLevel = options.config?.logLevel ?? 'info';
  const app = await buildApp(options.captureLogs ? { ...config, logLevel } : config, {
    database,
    redis,
    ...(logStream ? { logStream } : {}),
    ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
  });
  await options.setup?.(app);
  await app.ready();
  return {
    app,
    logs,
    databaseUrl: config.databaseUrl,
    async close() {
      await app.close();
      await testDb?.drop();
    },
  };
}

/** One app per test file, built before its tests and torn down (database dropped) after. */
export function useTestApp(options: TestAppOptions = {}): TestApp {
  let current: TestApp | undefined;
  beforeAll(async () => {
    current = await createTestApp(options);
  });
  afterAll(async () => {
    await current?.close();
  });
  const missing = (): never => {
    throw new Error('the test app is built in beforeAll; use it inside a test');
  };
  return {
    get app() {
      return current?.app ?? missing();
    },
    get logs() {
      return current?.logs ?? missing();
    },
    get databaseUrl() {
      return current ? current.databaseUrl : missing();
    },
    close: async () => current?.close(),
  };
}
