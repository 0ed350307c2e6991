import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sessions, users } from '../../src/db/schema/index.js';
import { currentAuth } from '../../src/plugins/auth.js';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';

const t = useTestApp({
  setup(app) {
    app.get('/test/me', { onRequest: [app.authenticate] }, async (request) => ({
      user_id: currentAuth(request).userId,
    }));
    app.post('/test/me', { onRequest: [app.authenticate] }, async () => ({ ok: true }));
  },
});

describe('bearer authentication', () => {
  it('when the access token is valid, then the route sees the user', async () => {
    const alice = await createUser(t.app);
    const response = await t.app.inject({ url: '/test/me', headers: alice.headers });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ user_id: alice.user.id });
  });

  it('when no token is sent, then 401 with a Bearer challenge', async () => {
    const response = await t.app.inject({ url: '/test/me' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toMatchObject({ code: 'unauthenticated' });
  });

  it.each([
    ['garbage', 'Bearer not-a-jwt'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['an unknown personal token', 'Bearer dkt_unknown'],
  ])('when the token is %s, then 401 invalid_token', async (_name, authorization) => {
    const response = await t.app.inject({ url: '/test/me', headers: { authorization } });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(response.json()).toMatchObject({ code: 'invalid_token' });
  });

  it('when the session is revoked, then its access token stops at once', async () => {
    const bob = await createUser(t.app);
    await t.app.db
      .update(sessions)
      .set({ revokedAt: new Date() })
      .where(eq(sessions.id, bob.sessionId));
    const response = await t.app.inject({ url: '/test/me', headers: bob.headers });
    expect(response.statusCode).toBe(401);
  });

  it('when the user is deactivated, then the access token stops at once', async () => {
    const carol = await createUser(t.app);
    await t.app.db.update(users).set({ isActive: false }).where(eq(users.id, carol.user.id));
    expect((await t.app.inject({ url: '/test/me', headers: carol.headers })).statusCode).toBe(401);
    expect(
      (await t.app.inject({ method: 'POST', url: '/test/me', headers: carol.headers })).statusCode,
    ).toBe(401);
  });
});
