import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { openRedis } from '../../src/plugins/redis.js';
import {
  createTestDatabase,
  POSTGRES_ADMIN_URL,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  type TestDatabase,
} from '../helpers/services.js';

/**
 * A start-up that fails half-way must not leave connections behind: the process would not exit,
 * and a restart loop would exhaust the server's connection slots.
 */
const pgOk = await postgresAvailable();
const redisOk = pgOk && (await redisAvailable());
if (!pgOk) console.warn('PostgreSQL unreachable: the build-failure checks are skipped');

/** Server-side connections to `url`'s database, read from another database. */
async function connectionsTo(url: string): Promise<number> {
  const name = new URL(url).pathname.slice(1);
  const admin = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => undefined });
  try {
    // A closed client's backend can take a moment to leave pg_stat_activity.
    for (let attempt = 0; ; attempt++) {
      const [row] = await admin<[{ n: number }]>`
        select count(*)::int as n from pg_stat_activity where datname = ${name}`;
      if (row.n === 0 || attempt === 50) return row.n;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.end({ timeout: 1 });
  }
}

/** A database handle that has connected, as one the app was given after use would be. */
async function openedDatabase(url: string): Promise<DatabaseHandle> {
  const database = await openDatabase({ url, poolSize: 2 });
  await database.ping();
  return database;
}

describe.skipIf(!pgOk)('when building the app fails', () => {
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await testDb?.drop();
    testDb = undefined;
  });

  it('when the Redis URL cannot be used, then the database is closed', async () => {
    testDb = await createTestDatabase();
    const database = await openedDatabase(testDb.url);
    expect(await connectionsTo(testDb.url)).toBeGreaterThan(0);

    const config = testConfig({ databaseUrl: testDb.url, redisUrl: 'redis://127.0.0.1:99999' });
    await expect(buildApp(config, { database })).rejects.toThrow(/invalid url/i);

    expect(await connectionsTo(testDb.url)).toBe(0);
  });

  it.skipIf(!redisOk)(
    'when a migration fails, then the database and Redis are both closed',
    async () => {
      testDb = await createTestDatabase();
      const database = await openedDatabase(testDb.url);
      // A table in the way of the first migration.
      await database.db.execute(sql`create table users (x int)`);
      const redis = await openRedis(REDIS_URL);
      expect(redis?.status).toBe('ready');

      const config = testConfig({ databaseUrl: testDb.url, redisUrl: REDIS_URL });
      await expect(buildApp(config, { database, redis })).rejects.toThrow();

      expect(await connectionsTo(testDb.url)).toBe(0);
      expect(redis?.status).toBe('end');
    },
  );
});
