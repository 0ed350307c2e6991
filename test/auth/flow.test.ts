import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

const t = useTestApp({ captureLogs: true });
const PASSWORD = 'a sturdy passphrase 42';

function form(fields: Record<string, string>) {
  return {
    method: 'POST' as const,
    url: '/api/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  };
}

describe('auth flow', () => {
  it('when a user registers, logs in, refreshes and revokes, then each step works and old tokens stop', async () => {
    const registered = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: '  Ann@Example.COM ', password: PASSWORD, full_name: 'Ann' },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    expect(registered.json()).toMatchObject({
      email: 'ann@example.com',
      full_name: 'Ann',
      is_superuser: false,
    });
    expect(registered.body).not.toContain('argon2');

    const login = await t.app.inject(
      form({ grant_type: 'password', username: 'ANN@example.com', password: PASSWORD }),
    );
    expect(login.statusCode, login.body).toBe(200);
    expect(login.headers['cache-control']).toBe('no-store');
    const tokens = login.json<{
      access_token: string;
      refresh_token: string;
      token_type: string;
      expires_in: number;
    }>();
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 900 });

    const me = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.json()).toMatchObject({ email: 'ann@example.com' });

    const refreshed = await t.app.inject(
      form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
    );
    expect(refreshed.statusCode).toBe(200);
    const next = refreshed.json<{ access_token: string; refresh_token: string }>();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);

    const asBearer = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${next.refresh_token}` },
    });
    expect(asBearer.statusCode).toBe(401);

    const revoked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${next.refresh_token}`,
    });
    expect(revoked.statusCode).toBe(200);
    const after = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${next.access_token}` },
    });
    expect(after.statusCode).toBe(401);
    const refreshAfter = await t.app.inject(
      form({ grant_type: 'refresh_token', refresh_token: next.refresh_token }),
    );
    expect(refreshAfter.json()).toMatchObject({ error: 'invalid_grant' });

    const unknownRevoke = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=nothing-like-it',
    });
    expect(unknownRevoke.statusCode).toBe(200);

    const logged = JSON.stringify(t.logs);
    expect(logged).not.toContain(PASSWORD);
    expect(logged).not.toContain(tokens.refresh_token);
    expect(logged).not.toContain(tokens.access_token);
  });

  it('when a used refresh token is presented again, then its whole session is revoked', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'reuse@example.com', password: PASSWORD },
    });
    const first = (
      await t.app.inject(
        form({ grant_type: 'password', username: 'reuse@example.com', password: PASSWORD }),
      )
    ).json<{ refresh_token: string }>();
    const second = (
      await t.app.inject(form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }))
    ).json<{ refresh_token: string; access_token: string }>();
    const reuse = await t.app.inject(
      form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }),
    );
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json()).toMatchObject({ error: 'invalid_grant' });
    const descendant = await t.app.inject(
      form({ grant_type: 'refresh_token', refresh_token: second.refresh_token }),
    );
    expect(descendant.json()).toMatchObject({ error: 'invalid_grant' });
    const access = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${second.access_token}` },
    });
    expect(access.statusCode).toBe(401);
  });

  it('when the email is unknown or the password wrong, then the answers are byte-identical', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'same@example.com', password: PASSWORD },
    });
    const unknown = await t.app.inject(
      form({ grant_type: 'password', username: 'nobody@example.com', password: PASSWORD }),
    );
    const wrong = await t.app.inject(
      form({ grant_type: 'password', username: 'same@example.com', password: 'wrong password 1' }),
    );
    expect(unknown.statusCode).toBe(400);
    expect(wrong.body).toBe(unknown.body);
    expect(wrong.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'The email or password is wrong.',
    });
  });

  it.each([
    [{}, 'invalid_request'],
    [{ grant_type: 'password', username: 'x@example.com' }, 'invalid_request'],
    [{ grant_type: 'client_credentials' }, 'unsupported_grant_type'],
    [{ grant_type: 'refresh_token' }, 'invalid_request'],
    [{ grant_type: 'refresh_token', refresh_token: 'made-up' }, 'invalid_grant'],
  ])('when the token request is %o, then 400 %s in the RFC 6749 shape', async (fields, error) => {
    const response = await t.app.inject(form(fields));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error });
  });

  it('when registration input is bad, then 422 or 409', async () => {
    const weak = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'weak@example.com', password: 'password1' },
    });
    expect(weak.statusCode).toBe(422);
    expect(weak.json()).toMatchObject({ code: 'invalid_password' });
    const short = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'bad', password: 'short', extra: 1 },
    });
    expect(
      short
        .json<{ errors: { field: string }[] }>()
        .errors.map((error) => error.field)
        .sort(),
    ).toEqual(['email', 'extra', 'password']);
    const long = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'long@example.com', password: 'x'.repeat(1025) },
    });
    expect(long.statusCode).toBe(422);
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'dup@example.com', password: PASSWORD },
    });
    const duplicate = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'DUP@example.com', password: PASSWORD },
    });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toMatchObject({ code: 'email_taken' });
  });

  it('when stored, then the password hash is argon2id and never returned', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'hash@example.com', password: PASSWORD },
    });
    const { users } = await import('../../src/db/schema/index.js');
    const { eq } = await import('drizzle-orm');
    const [row] = await t.app.db.select().from(users).where(eq(users.email, 'hash@example.com'));
    expect(row?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('when an account fails many logins, then even the right password is refused for a while', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'locked@example.com', password: PASSWORD },
    });
    for (let i = 0; i < 10; i += 1) {
      await t.app.inject(
        form({
          grant_type: 'password',
          username: 'locked@example.com',
          password: `wrong ${i} guess`,
        }),
      );
    }
    const right = await t.app.inject(
      form({ grant_type: 'password', username: 'locked@example.com', password: PASSWORD }),
    );
    expect(right.statusCode).toBe(400);
    expect(right.json()).toMatchObject({ error: 'invalid_grant' });
  });
});
