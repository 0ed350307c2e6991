import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

const t = useTestApp({
  config: {
    firstSuperuser: { email: 'root@example.com', password: 'first superuser passphrase' },
    registrationEnabled: false,
    authRateLimitMax: 3,
  },
});

describe('first superuser, closed registration and the login rate limit', () => {
  it('when FIRST_SUPERUSER_* is set, then that superuser exists and can log in', async () => {
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload:
        'grant_type=password&username=root%40example.com&password=first+superuser+passphrase',
    });
    expect(login.statusCode, login.body).toBe(200);
    const me = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${login.json<{ access_token: string }>().access_token}` },
    });
    expect(me.json()).toMatchObject({ email: 'root@example.com', is_superuser: true });
  });

  it('when registration is disabled, then 403 registration_disabled', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'new@example.com', password: 'a fine passphrase' },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'registration_disabled' });
  });

  it('when a client exceeds the auth route budget, then 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        remoteAddress: '10.9.9.9',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'grant_type=password&username=a%40b.c&password=wrongwrong',
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([400, 400, 400, 429]);
  });
});
