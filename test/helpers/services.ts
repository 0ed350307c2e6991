import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';

/** The server that test databases are created on; each test file gets its own database. */
export const POSTGRES_ADMIN_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const inCi = process.env.CI === 'true';

async function reachable(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

let postgresState: Promise<boolean> | undefined;
let redisState: Promise<boolean> | undefined;

/** Whether PostgreSQL can be used; with CI=true an unreachable server fails the run instead. */
export function postgresAvailable(): Promise<boolean> {
  postgresState ??= reachable(async () => {
    const sql = postgres(POSTGRES_ADMIN_URL, {
      max: 1,
      connect_timeout: 3,
      onnotice: () => undefined,
    });
    try {
      await sql`select 1`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  }).then((ok) => {
    if (!ok && inCi)
      throw new Error(`CI=true but PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}`);
    if (!ok) console.warn(`PostgreSQL unreachable at ${POSTGRES_ADMIN_URL}: tests run on PGlite`);
    return ok;
  });
  return postgresState;
}

/** Whether Redis can be used; with CI=true an unreachable server fails the run instead. */
export function redisAvailable(): Promise<boolean> {
  redisState ??= reachable(async () => {
    const redis = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 2_000,
      maxRetriesPerRequest: 0,
    });
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  }).then((ok) => {
    if (!ok && inCi) throw new Error(`CI=true but Redis is unreachable at ${REDIS_URL}`);
    if (!ok) console.warn(`Redis unreachable at ${REDIS_URL}: Redis tests are skipped`);
    return ok;
  });
  return redisState;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty, uniquely named database on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `docket_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => undefined });
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
  };
}

export function uniquePrefix(): string {
  return `docket-test:${randomBytes(6).toString('hex')}:`;
}
