import { SignJWT } from 'jose';
import type { InjectOptions, Response } from 'light-my-request';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../src/modules/auth/access-tokens.js';
import type { TestUser } from './factories.js';

/** An access token of `user`'s live session, signed with the app's key, expired a minute ago. */
export async function expiredToken(app: App, user: TestUser): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: user.sessionId })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(user.user.id)
    .setIssuedAt(now - 3600)
    .setNotBefore(now - 3600)
    .setExpirationTime(now - 60)
    .sign(new TextEncoder().encode(app.config.jwtSecret));
}

/** Credentials every authenticated route answers 401 to: [name, headers, problem code]. */
export async function refusedCredentials(
  app: App,
  user: TestUser,
): Promise<[string, Record<string, string>, string][]> {
  return [
    ['no token', {}, 'unauthenticated'],
    ['a made-up token', { authorization: 'Bearer dkt_madeup' }, 'invalid_token'],
    ['a Basic credential', { authorization: 'Basic dXNlcjpwYXNz' }, 'invalid_token'],
    [
      'an expired token',
      { authorization: `Bearer ${await expiredToken(app, user)}` },
      'invalid_token',
    ],
  ];
}

const OVER_ONE_MIB = `{"description":"${'x'.repeat(1024 * 1024)}"}`;

/** Bodies a JSON route refuses before it runs: [name, content type, body, status, code]. */
export const REFUSED_BODIES: [string, string, string, number, string][] = [
  ['malformed JSON', 'application/json', '{"format":', 400, 'malformed_json'],
  ['an empty JSON body', 'application/json', '', 400, 'malformed_json'],
  ['text/plain', 'text/plain', '{}', 415, 'unsupported_media_type'],
  ['a form', 'application/x-www-form-urlencoded', 'a=b', 415, 'unsupported_media_type'],
  ['a body over 1 MiB', 'application/json', OVER_ONE_MIB, 413, 'payload_too_large'],
];

/** An RFC 9457 problem with this status and code (and a `WWW-Authenticate` on a 401). */
export function expectProblem(response: Response, status: number, code: string, label = ''): void {
  expect(response.statusCode, `${label}: ${response.body.slice(0, 300)}`).toBe(status);
  expect(response.headers['content-type'], label).toMatch(/^application\/problem\+json/);
  expect(response.json(), label).toMatchObject({ status, code });
  if (status === 401) expect(response.headers['www-authenticate'], label).toMatch(/^Bearer/);
}

/** Every body in `REFUSED_BODIES`, sent to `method url` with `headers`, gets its problem. */
export async function expectBodiesRefused(
  app: App,
  method: InjectOptions['method'],
  url: string,
  headers: Record<string, string>,
): Promise<void> {
  for (const [name, type, payload, status, code] of REFUSED_BODIES) {
    const response = await app.inject({
      method,
      url,
      headers: { ...headers, 'content-type': type },
      payload,
    });
    expectProblem(response, status, code, `${String(method)} ${url} with ${name}`);
  }
}

/** Every credential in `refusedCredentials` gets a 401 problem from `method url`. */
export async function expectCredentialsRefused(
  app: App,
  user: TestUser,
  method: InjectOptions['method'],
  url: string,
): Promise<void> {
  for (const [name, headers, code] of await refusedCredentials(app, user)) {
    expectProblem(await app.inject({ method, url, headers }), 401, code, `${url} with ${name}`);
  }
}
