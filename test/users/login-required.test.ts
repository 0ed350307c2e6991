import { asc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import {
  actionTokens,
  personalAccessTokens,
  projects,
  sessions,
  users,
} from '../../src/db/schema/index.js';
import { newId } from '../../src/lib/ids.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, DEFAULT_PASSWORD, type TestUser } from '../helpers/factories.js';
import { createProject } from '../helpers/projects.js';

const t = useTestApp();

/** What one case works on: the caller, its tokens, and the things the routes name. */
interface Fixture {
  actor: TestUser;
  readToken: string;
  writeToken: string;
  otherSessionId: string;
  tokenId: string;
  target: TestUser;
}

interface GuardedRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  url: (fixture: Fixture) => string;
  payload?: Record<string, unknown>;
  superuser?: boolean;
  /** The answer to an interactive login. */
  status: number;
}

const API = '/api/v1';

/** Every route that declares `requireLogin`; the OpenAPI check below keeps this list complete. */
const GUARDED: GuardedRoute[] = [
  {
    method: 'PATCH',
    path: '/users/me',
    url: () => `${API}/users/me`,
    payload: { email: 'attacker@example.com' },
    status: 200,
  },
  { method: 'DELETE', path: '/users/me', url: () => `${API}/users/me`, status: 204 },
  {
    method: 'POST',
    path: '/users/me/password',
    url: () => `${API}/users/me/password`,
    payload: { current_password: DEFAULT_PASSWORD, new_password: 'a brand new passphrase' },
    status: 204,
  },
  { method: 'GET', path: '/users/me/sessions', url: () => `${API}/users/me/sessions`, status: 200 },
  {
    method: 'DELETE',
    path: '/users/me/sessions/{id}',
    url: (f) => `${API}/users/me/sessions/${f.otherSessionId}`,
    status: 204,
  },
  { method: 'GET', path: '/users/me/tokens', url: () => `${API}/users/me/tokens`, status: 200 },
  {
    method: 'POST',
    path: '/users/me/tokens',
    url: () => `${API}/users/me/tokens`,
    payload: { name: 'another', scopes: ['read', 'write'] },
    status: 201,
  },
  {
    method: 'DELETE',
    path: '/users/me/tokens/{id}',
    url: (f) => `${API}/users/me/tokens/${f.tokenId}`,
    status: 204,
  },
  { method: 'GET', path: '/users', url: () => `${API}/users`, superuser: true, status: 200 },
  {
    method: 'GET',
    path: '/users/{id}',
    url: (f) => `${API}/users/${f.target.user.id}`,
    superuser: true,
    status: 200,
  },
  {
    method: 'PATCH',
    path: '/users/{id}',
    url: (f) => `${API}/users/${f.target.user.id}`,
    payload: { is_superuser: true },
    superuser: true,
    status: 200,
  },
  {
    method: 'DELETE',
    path: '/users/{id}',
    url: (f) => `${API}/users/${f.target.user.id}`,
    superuser: true,
    status: 204,
  },
];

async function createToken(app: App, actor: TestUser, scopes: string[]) {
  const response = await app.inject({
    method: 'POST',
    url: `${API}/users/me/tokens`,
    headers: actor.headers,
    payload: { name: scopes.join('+'), scopes },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string; token: string }>();
}

async function createFixture(app: App, superuser: boolean): Promise<Fixture> {
  const actor = await createUser(app, { isSuperuser: superuser });
  const read = await createToken(app, actor, ['read']);
  const write = await createToken(app, actor, ['read', 'write']);
  const otherSessionId = newId();
  await app.db.insert(sessions).values({
    id: otherSessionId,
    userId: actor.user.id,
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  return {
    actor,
    readToken: read.token,
    writeToken: write.token,
    otherSessionId,
    tokenId: read.id,
    target: await createUser(app),
  };
}

/** The account state a PAT must not be able to touch; `last_used_at` moves on every use. */
async function accountState(app: App) {
  return {
    users: await app.db.select().from(users).orderBy(asc(users.id)),
    sessions: (await app.db.select().from(sessions).orderBy(asc(sessions.id))).map(
      ({ lastUsedAt: _, ...row }) => row,
    ),
    tokens: (
      await app.db.select().from(personalAccessTokens).orderBy(asc(personalAccessTokens.id))
    ).map(({ lastUsedAt: _, ...row }) => row),
    actionTokens: await app.db.select().from(actionTokens).orderBy(asc(actionTokens.id)),
    projects: await app.db.select().from(projects).orderBy(asc(projects.id)),
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const SAFE = new Set(['GET', 'HEAD']);

describe('routes that need an interactive login', () => {
  describe.each(GUARDED)('$method $path', (route) => {
    it('when called with an access JWT, then it answers as usual', async () => {
      const fixture = await createFixture(t.app, route.superuser === true);
      const response = await t.app.inject({
        method: route.method,
        url: route.url(fixture),
        headers: fixture.actor.headers,
        ...(route.payload ? { payload: route.payload } : {}),
      });
      expect(response.statusCode, response.body).toBe(route.status);
    });

    const tokens: [string, (fixture: Fixture) => string, string][] = [
      ['write', (f) => f.writeToken, 'login_required'],
      // A read token on a changing method is already stopped by its scope, before the login rule.
      [
        'read',
        (f) => f.readToken,
        SAFE.has(route.method) ? 'login_required' : 'insufficient_scope',
      ],
    ];
    it.each(tokens)(
      'when called with a %s personal access token, then 403 and nothing changes',
      async (_scope, token, code) => {
        const fixture = await createFixture(t.app, route.superuser === true);
        const before = await accountState(t.app);
        const response = await t.app.inject({
          method: route.method,
          url: route.url(fixture),
          headers: bearer(token(fixture)),
          ...(route.payload ? { payload: route.payload } : {}),
        });
        expect(response.statusCode, response.body).toBe(403);
        expect(response.json()).toMatchObject({ status: 403, code });
        expect(await accountState(t.app)).toEqual(before);
      },
    );
  });

  it('when the OpenAPI document lists the user routes, then each one but GET /users/me is in the table and documents login_required', async () => {
    const spec = (await t.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<
        string,
        Record<
          string,
          { description?: string; responses: Record<string, { description?: string }> }
        >
      >;
    }>();
    const listed = Object.entries(spec.paths)
      .filter(([path]) => path.startsWith(`${API}/users`))
      .flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, operation]) => ({
          key: `${method.toUpperCase()} ${path.slice(API.length)}`,
          operation,
        })),
      );
    const open = listed.filter(({ key }) => key === 'GET /users/me');
    expect(open).toHaveLength(1);
    const guarded = listed.filter(({ key }) => key !== 'GET /users/me');
    expect(guarded.map(({ key }) => key).sort()).toEqual(
      GUARDED.map((route) => `${route.method} ${route.path}`).sort(),
    );
    for (const { key, operation } of guarded) {
      expect(operation.description, key).toContain('login_required');
      expect(operation.responses['403']?.description, key).toContain('login_required');
    }
  });

  it("when a superuser's write token tries to make another user a superuser, then 403 and the user stays as it was", async () => {
    const root = await createFixture(t.app, true);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `${API}/users/${root.target.user.id}`,
      headers: bearer(root.writeToken),
      payload: { is_superuser: true, is_active: true },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'login_required' });
    const [stored] = await t.app.db
      .select({ isSuperuser: users.isSuperuser })
      .from(users)
      .where(eq(users.id, root.target.user.id));
    expect(stored).toEqual({ isSuperuser: false });
  });

  it('when a normal user calls a superuser route with a login or a token, then 403 forbidden either way', async () => {
    const user = await createFixture(t.app, false);
    for (const headers of [user.actor.headers, bearer(user.writeToken)]) {
      const response = await t.app.inject({
        method: 'PATCH',
        url: `${API}/users/${user.actor.user.id}`,
        headers,
        payload: { is_superuser: true },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ code: 'forbidden' });
    }
  });

  it('when a write token reads the profile or works on a project, then it still may', async () => {
    const user = await createFixture(t.app, false);
    const me = await t.app.inject({ url: `${API}/users/me`, headers: bearer(user.writeToken) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: user.actor.user.id });
    await createProject(t.app, { ...user.actor, headers: bearer(user.writeToken) });
  });
});
