import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../src/modules/auth/access-tokens.js';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';

const t = useTestApp();

interface Forgery {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  key?: string;
  omit?: ('exp' | 'iss' | 'aud')[];
}

async function forge(userId: string, sessionId: string, forgery: Forgery = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    sid: sessionId,
    sub: userId,
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + 600,
    jti: 'test-jti',
    ...forgery.claims,
  };
  for (const claim of forgery.omit ?? []) delete claims[claim];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...forgery.header })
    .sign(new TextEncoder().encode(forgery.key ?? t.app.config.jwtSecret));
}

describe('access token verification', () => {
  it('when the token is genuine, then it is accepted (the forgeries below differ in one thing only)', async () => {
    const user = await createUser(t.app);
    const token = await forge(user.user.id, user.sessionId);
    const response = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(200);
  });

  it.each<[string, Forgery]>([
    ['signed with another key', { key: 'another-secret-that-is-also-long-enough-0123' }],
    ['expired', { claims: { exp: Math.floor(Date.now() / 1000) - 10 } }],
    ['not valid yet (nbf)', { claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } }],
    ['for another audience', { claims: { aud: 'someone-else' } }],
    ['from another issuer', { claims: { iss: 'https://evil.example' } }],
    ['without exp', { omit: ['exp'] }],
    ['of another type', { header: { typ: 'JWT' } }],
    [
      'for another user than its session',
      { claims: { sub: '01a20c75-c83d-7321-9559-2498ce98cdcc' } },
    ],
  ])('when the token is %s, then 401', async (_name, forgery) => {
    const user = await createUser(t.app);
    const token = await forge(user.user.id, user.sessionId, forgery);
    const response = await t.app.inject({
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('when the token uses alg none or has its signature stripped, then 401', async () => {
    const user = await createUser(t.app);
    const unsecured = new UnsecuredJWT({ sid: user.sessionId })
      .setSubject(user.user.id)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .encode();
    const stripped = user.token.split('.').slice(0, 2).join('.') + '.';
    for (const token of [unsecured, stripped]) {
      const response = await t.app.inject({
        url: '/api/v1/users/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.statusCode).toBe(401);
    }
  });
});
