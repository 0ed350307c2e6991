import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startSmtpServer, tokenFromMail } from '../helpers/smtp.js';

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let t: TestApp;
const PASSWORD = 'a sturdy passphrase 42';

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({
    config: { smtpUrl: smtp.url, publicUrl: 'https://tasks.example.com' },
  });
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

function login(email: string, password: string) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', username: email, password }).toString(),
  });
}

describe('mail: verification and password recovery over SMTP', () => {
  it('when a user registers, then a verification mail arrives and its link works once', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'verify@example.com', password: PASSWORD },
    });
    const [mail] = await smtp.waitFor('verify@example.com');
    expect(mail?.raw).toContain('https://tasks.example.com/verify-email?token=');
    expect(mail?.raw).toContain('Content-Type: text/html');
    const token = tokenFromMail(mail!);
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/verify-email',
      payload: { token },
    });
    expect(first.statusCode).toBe(204);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/verify-email',
      payload: { token },
    });
    expect(again.statusCode).toBe(422);
    expect(again.json()).toMatchObject({ code: 'invalid_token_value' });
    const tokens = (await login('verify@example.com', PASSWORD)).json<{ access_token: string }>();
    const me = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.json().email_verified_at).not.toBeNull();
  });

  it('when an account is locked by 40 wrong passwords, then recovery still works, ends sessions and unlocks', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'owner@example.com', password: PASSWORD },
    });
    const before = (await login('owner@example.com', PASSWORD)).json<{ access_token: string }>();
    for (let i = 0; i < 40; i += 1) await login('owner@example.com', `wrong guess ${i}`);
    expect((await login('owner@example.com', PASSWORD)).statusCode).toBe(400);

    const recovery = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-recovery',
      payload: { email: 'Owner@Example.com' },
    });
    expect(recovery.statusCode).toBe(202);
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-recovery',
      payload: { email: 'ghost@example.com' },
    });
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(recovery.body);

    const mails = await smtp.waitFor('owner@example.com', 2);
    const resetMail = mails.find((mail) => mail.raw.includes('reset-password'));
    const token = tokenFromMail(resetMail!);
    const reset = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      payload: { token, new_password: 'my new sturdy passphrase' },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    const reused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      payload: { token, new_password: 'yet another passphrase' },
    });
    expect(reused.statusCode).toBe(422);
    expect(
      (
        await t.app.inject({
          url: '/api/v1/users/me',
          headers: { authorization: `Bearer ${before.access_token}` },
        })
      ).statusCode,
    ).toBe(401);
    expect((await login('owner@example.com', 'my new sturdy passphrase')).statusCode).toBe(200);
    expect(smtp.inbox.some((mail) => mail.to.includes('ghost@example.com'))).toBe(false);
  });

  it('when the email changes, then the new address gets a verification mail; an old link no longer verifies', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'mover@example.com', password: PASSWORD },
    });
    const [oldMail] = await smtp.waitFor('mover@example.com');
    const tokens = (await login('mover@example.com', PASSWORD)).json<{ access_token: string }>();
    const headers = { authorization: `Bearer ${tokens.access_token}` };
    const patched = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers,
      payload: { email: 'moved@example.com' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const [newMail] = await smtp.waitFor('moved@example.com');
    const stale = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/verify-email',
      payload: { token: tokenFromMail(oldMail!) },
    });
    expect(stale.statusCode).toBe(422);
    const fresh = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/verify-email',
      payload: { token: tokenFromMail(newMail!) },
    });
    expect(fresh.statusCode).toBe(204);
  });

  it('when the reset input is bad, then 422', async () => {
    const weak = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      payload: { token: 'x', new_password: 'password' },
    });
    expect(weak.statusCode).toBe(422);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      payload: { new_password: 'a good passphrase' },
    });
    expect(missing.statusCode).toBe(422);
    const bogus = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      payload: { token: 'not-a-real-token', new_password: 'a good passphrase' },
    });
    expect(bogus.json()).toMatchObject({ code: 'invalid_token_value' });
  });
});
