import { describe, expect, it } from 'vitest';
import { createTestApp, useTestApp } from '../helpers/app.js';

const t = useTestApp();

const OAUTH_ROUTES = ['/api/v1/auth/token', '/api/v1/auth/revoke'] as const;

interface Sent {
  name: string;
  contentType: string;
  payload: string;
  status: number;
}

const BAD_BODIES: Sent[] = [
  { name: 'an empty JSON body', contentType: 'application/json', payload: '', status: 400 },
  { name: 'malformed JSON', contentType: 'application/json', payload: '{"a":', status: 400 },
  {
    name: 'JSON holding __proto__',
    contentType: 'application/json',
    payload: '{"__proto__":{"polluted":true},"grant_type":"password"}',
    status: 400,
  },
  {
    name: 'JSON holding constructor.prototype',
    contentType: 'application/json',
    payload: '{"constructor":{"prototype":{"polluted":true}}}',
    status: 400,
  },
  { name: 'a content type it does not take', contentType: 'text/plain', payload: 'x', status: 415 },
  {
    name: 'a form body over the 16 KiB limit',
    contentType: 'application/x-www-form-urlencoded',
    payload: `token=${'a'.repeat(20 * 1024)}`,
    status: 413,
  },
];

function expectOAuthError(response: {
  statusCode: number;
  headers: Record<string, unknown>;
  json: () => unknown;
}): { error: string; error_description: string } {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.headers['cache-control']).toBe('no-store');
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toMatch(/^[a-z_]+$/);
  expect(typeof body.error_description).toBe('string');
  expect(body.error_description).not.toBe('');
  return body as { error: string; error_description: string };
}

describe('OAuth2 endpoints answer every error in the RFC 6749 shape', () => {
  for (const url of OAUTH_ROUTES) {
    it.each(BAD_BODIES)(
      `when ${url} gets $name, then $status with error and error_description`,
      async ({ contentType, payload, status }) => {
        const response = await t.app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': contentType },
          payload,
        });
        expect(response.statusCode).toBe(status);
        const body = expectOAuthError(response);
        expect(body.error).toBe('invalid_request');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      },
    );
  }

  it('when the token endpoint gets a form with __proto__ and no grant, then 400 invalid_request', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '__proto__=x&constructor=y',
    });
    expect(response.statusCode).toBe(400);
    expect(expectOAuthError(response).error).toBe('invalid_request');
  });

  it('when another route gets malformed JSON, then it still answers an RFC 9457 problem', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ code: 'malformed_json', status: 400 });
  });
});

describe('OAuth2 endpoints when rate limited', () => {
  it('when the budget is spent, then 429 in the RFC 6749 shape with Retry-After', async () => {
    const limited = await createTestApp({ config: { authRateLimitMax: 1 } });
    try {
      const send = () =>
        limited.app.inject({
          method: 'POST',
          url: '/api/v1/auth/revoke',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'token=unknown',
        });
      expect((await send()).statusCode).toBe(200);
      const response = await send();
      expect(response.statusCode).toBe(429);
      expect(response.headers['retry-after']).toMatch(/^\d+$/);
      expect(expectOAuthError(response).error).toBe('temporarily_unavailable');
    } finally {
      await limited.close();
    }
  });
});
