import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { users } from '../../src/db/schema/index.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';

const PASSWORD = 'a sturdy passphrase 42';
const pgOk = await postgresAvailable();

function login(app: App, email: string) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'password',
      username: email,
      password: PASSWORD,
    }).toString(),
  });
}

async function appOn(url: string | null, dataDir: string): Promise<App> {
  const config = testConfig({
    databaseUrl: url,
    dataDir,
    rateLimitMax: 1_000_000,
    authRateLimitMax: 1_000_000,
    maxEventLoopDelayMs: 0,
  });
  const database = await openDatabase({ url, dataDir, poolSize: 2 });
  const app = await buildApp(config, { database, redis: null });
  await app.ready();
  return app;
}

async function registerRestartLogin(url: string | null): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'docket-restart-'));
  const first = await appOn(url, dataDir);
  const registered = await first.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email: 'kept@example.com', password: PASSWORD },
  });
  expect(registered.statusCode).toBe(201);
  const { refresh_token: refreshToken } = (await login(first, 'kept@example.com')).json<{
    refresh_token: string;
  }>();
  await first.close();

  const second = await appOn(url, dataDir);
  try {
    expect((await login(second, 'kept@example.com')).statusCode).toBe(200);
    const refreshed = await second.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      }).toString(),
    });
    expect(refreshed.statusCode).toBe(200);
  } finally {
    await second.close();
  }
}

describe('accounts survive a restart', () => {
  it('when the embedded database is reopened, then the user can still log in and refresh', async () => {
    await registerRestartLogin(null);
  });

  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });
  it.skipIf(!pgOk)(
    'when the PostgreSQL-backed app restarts, then the user can still log in and refresh',
    async () => {
      database = await createTestDatabase();
      await registerRestartLogin(database.url);
    },
  );
});

describe('password hash upgrade', () => {
  it('when a user logs in with a hash made with weaker parameters, then it is rehashed at full cost', async () => {
    const app = await appOn(null, mkdtempSync(join(tmpdir(), 'docket-rehash-')));
    try {
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: 'old@example.com', password: PASSWORD },
      });
      const weak = await hash(PASSWORD, {
        algorithm: 2,
        memoryCost: 4096,
        timeCost: 1,
        parallelism: 1,
      });
      await app.db
        .update(users)
        .set({ passwordHash: weak })
        .where(eq(users.email, 'old@example.com'));
      expect((await login(app, 'old@example.com')).statusCode).toBe(200);
      const [row] = await app.db.select().from(users).where(eq(users.email, 'old@example.com'));
      expect(row?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    } finally {
      await app.close();
    }
  });
});
