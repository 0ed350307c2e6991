import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { SessionCache } from '../../src/modules/auth/session-cache.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, DEFAULT_PASSWORD, type TestUser } from '../helpers/factories.js';
import { RedisServer, redisServerInstalled, waitFor } from '../helpers/redis-server.js';
import { postgresAvailable, uniquePrefix } from '../helpers/services.js';

const ME = '/api/v1/users/me';

function cacheOf(app: App): SessionCache {
  return app.services.sessionCache;
}

async function meStatus(app: App, user: TestUser): Promise<number> {
  const response = await app.inject({ url: ME, headers: user.headers });
  return response.statusCode;
}

/** Answers `GET /users/me` `count` times; returns how many asked the database. */
async function databaseChecks(app: App, user: TestUser, count: number): Promise<number> {
  const before = cacheOf(app).stats.misses;
  for (let i = 0; i < count; i += 1) expect(await meStatus(app, user)).toBe(200);
  return cacheOf(app).stats.misses - before;
}

const installed = redisServerInstalled();
const shared = await postgresAvailable();

describe.skipIf(!installed || !shared)('session cache across two instances', () => {
  let redis: RedisServer;
  let one: TestApp;
  let two: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const config = {
      redisUrl: redis.url,
      redisKeyPrefix: uniquePrefix(),
      jwtSecret: randomBytes(32).toString('hex'),
    };
    one = await createTestApp({ config });
    const databaseUrl = one.databaseUrl;
    if (databaseUrl === null) throw new Error('expected PostgreSQL');
    two = await createTestApp({ config, databaseUrl: () => databaseUrl });
    admin = await createUser(one.app, { isSuperuser: true });
  }, 60_000);

  afterAll(async () => {
    await two?.close();
    await one?.close();
    await redis?.kill();
  });

  beforeEach(async () => {
    await redis.start();
    await waitFor(
      () => cacheOf(one.app).enabled() && cacheOf(two.app).enabled(),
      'both caches to subscribe',
    );
  });

  it('when a session is used again, then the database is asked once, not per request', async () => {
    const user = await createUser(one.app);
    expect(await databaseChecks(two.app, user, 10)).toBe(1);
    expect(cacheOf(two.app).stats.hits).toBeGreaterThanOrEqual(9);
  });

  /** Warms the second instance, ends the session on the first, and sees the second refuse it. */
  async function revokedAcross(user: TestUser, revoke: () => Promise<void>): Promise<void> {
    expect(await databaseChecks(two.app, user, 2)).toBe(1);
    expect(cacheOf(two.app).holds(user.sessionId)).toBe(true);
    await revoke();
    // Only the invalidation removes an entry (expiry does not), so this fails without delivery.
    await waitFor(() => !cacheOf(two.app).holds(user.sessionId), 'the invalidation', 1_000);
    expect(await meStatus(two.app, user)).toBe(401);
    expect(await meStatus(one.app, user)).toBe(401);
  }

  it('when a session is ended on one instance, then the other refuses it within 1 s', async () => {
    const user = await createUser(one.app);
    await revokedAcross(user, async () => {
      const response = await one.app.inject({
        method: 'DELETE',
        url: `${ME}/sessions/${user.sessionId}`,
        headers: user.headers,
      });
      expect(response.statusCode).toBe(204);
    });
  });

  it('when a user is deactivated on one instance, then the other refuses them within 1 s', async () => {
    const user = await createUser(one.app);
    await revokedAcross(user, async () => {
      const response = await one.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${user.user.id}`,
        headers: admin.headers,
        payload: { is_active: false },
      });
      expect(response.statusCode).toBe(200);
    });
  });

  it('when a superuser is demoted on one instance, then the other stops treating them as one', async () => {
    const other = await createUser(one.app, { isSuperuser: true });
    expect(await databaseChecks(two.app, other, 2)).toBe(1);
    const demoted = await one.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${other.user.id}`,
      headers: admin.headers,
      payload: { is_superuser: false },
    });
    expect(demoted.statusCode).toBe(200);
    await waitFor(() => !cacheOf(two.app).holds(other.sessionId), 'the invalidation', 1_000);
    const list = await two.app.inject({ url: '/api/v1/users', headers: other.headers });
    expect(list.statusCode).toBe(403);
  });

  it('when the password is changed on one instance, then other sessions end on both', async () => {
    const user = await createUser(one.app);
    const login = await one.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { grant_type: 'password', username: user.user.email, password: DEFAULT_PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    const current = `Bearer ${login.json<{ access_token: string }>().access_token}`;
    await revokedAcross(user, async () => {
      const response = await one.app.inject({
        method: 'POST',
        url: `${ME}/password`,
        headers: { authorization: current },
        payload: { current_password: DEFAULT_PASSWORD, new_password: 'another long passphrase 42' },
      });
      expect(response.statusCode).toBe(204);
    });
  });

  it('when Redis is down, then the cache is off and revocation is still immediate', async () => {
    const user = await createUser(one.app);
    expect(await databaseChecks(two.app, user, 2)).toBe(1);
    await redis.kill();
    await waitFor(
      () => !cacheOf(one.app).enabled() && !cacheOf(two.app).enabled(),
      'both caches to turn off',
    );
    expect(cacheOf(two.app).holds(user.sessionId)).toBe(false);
    // Every request asks the database while invalidations cannot travel.
    expect(await databaseChecks(two.app, user, 5)).toBe(5);
    const ended = await one.app.inject({
      method: 'DELETE',
      url: `${ME}/sessions/${user.sessionId}`,
      headers: user.headers,
    });
    expect(ended.statusCode).toBe(204);
    expect(await meStatus(two.app, user)).toBe(401);

    // Back again: the cache serves once it is subscribed again.
    await redis.start();
    await waitFor(() => cacheOf(two.app).enabled(), 'the cache to return');
    const fresh = await createUser(one.app);
    expect(await databaseChecks(two.app, fresh, 5)).toBe(1);
  }, 30_000);
});

describe('session cache without Redis', () => {
  it('when more than one instance may run, then every request asks the database', async () => {
    const test = await createTestApp();
    try {
      const user = await createUser(test.app);
      expect(cacheOf(test.app).enabled()).toBe(false);
      expect(await databaseChecks(test.app, user, 5)).toBe(5);
    } finally {
      await test.close();
    }
  });

  it('when declared single-instance, then it serves and a logout still ends the session at once', async () => {
    const test = await createTestApp({ config: { singleInstance: true } });
    try {
      const user = await createUser(test.app);
      expect(await databaseChecks(test.app, user, 5)).toBe(1);
      const ended = await test.app.inject({
        method: 'DELETE',
        url: `${ME}/sessions/${user.sessionId}`,
        headers: user.headers,
      });
      expect(ended.statusCode).toBe(204);
      expect(await meStatus(test.app, user)).toBe(401);
      const garbage = await test.app.inject({
        url: ME,
        headers: { authorization: 'Bearer not.a.token' },
      });
      expect(garbage.statusCode).toBe(401);
    } finally {
      await test.close();
    }
  });

  it('when the TTL is 0, then the cache is off even for a single instance', async () => {
    const test = await createTestApp({ config: { singleInstance: true, sessionCacheTtlMs: 0 } });
    try {
      const user = await createUser(test.app);
      expect(await databaseChecks(test.app, user, 3)).toBe(3);
    } finally {
      await test.close();
    }
  });
});
