import { and, eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  comments,
  events,
  projectMembers,
  projects,
  tasks,
  users,
} from '../../src/db/schema/index.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';

const t = useTestApp();

async function login(email: string, password = DEFAULT_PASSWORD) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', username: email, password }).toString(),
  });
  return response.json<{ access_token: string; refresh_token: string }>();
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('users', () => {
  it('when the profile is changed, then the email is normalised, unverified, and must be free', async () => {
    const ann = await createUser(t.app);
    const bob = await createUser(t.app);
    const changed = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: ann.headers,
      payload: { email: ' New.Ann@Example.com ', full_name: 'Ann B' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({
      email: 'new.ann@example.com',
      full_name: 'Ann B',
      email_verified_at: null,
    });
    const taken = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: ann.headers,
      payload: { email: bob.user.email },
    });
    expect(taken.statusCode).toBe(409);
    const empty = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: ann.headers,
      payload: { is_superuser: true },
    });
    expect(empty.statusCode).toBe(422);
  });

  it('when the password changes, then other sessions end and this one goes on', async () => {
    const user = await createUser(t.app);
    const other = await login(user.user.email);
    const changed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      headers: user.headers,
      payload: { current_password: DEFAULT_PASSWORD, new_password: 'a brand new passphrase' },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: bearer(other.access_token) }))
        .statusCode,
    ).toBe(401);
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: user.headers })).statusCode,
    ).toBe(200);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      headers: user.headers,
      payload: { current_password: 'not it at all', new_password: 'another passphrase' },
    });
    expect(wrong.statusCode).toBe(422);
    expect((await login(user.user.email, 'a brand new passphrase')).access_token).toBeDefined();
  });

  it('when sessions are listed and one is ended, then its tokens stop at once', async () => {
    const user = await createUser(t.app);
    const phone = await login(user.user.email);
    const list = await t.app.inject({ url: '/api/v1/users/me/sessions', headers: user.headers });
    const sessions = list.json<{ items: { id: string; current: boolean }[] }>().items;
    expect(sessions).toHaveLength(2);
    const other = sessions.find((session) => !session.current);
    expect(sessions.filter((session) => session.current)).toHaveLength(1);
    const ended = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/me/sessions/${other?.id ?? ''}`,
      headers: user.headers,
    });
    expect(ended.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: bearer(phone.access_token) }))
        .statusCode,
    ).toBe(401);
    const stranger = await createUser(t.app);
    const foreign = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/me/sessions/${stranger.sessionId}`,
      headers: user.headers,
    });
    expect(foreign.statusCode).toBe(404);
  });

  it('when a personal access token is made, then it works once shown, read scope cannot write, and revoking stops it', async () => {
    const user = await createUser(t.app);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/tokens',
      headers: user.headers,
      payload: { name: 'ci', scopes: ['read'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { token, id } = created.json<{ token: string; id: string }>();
    expect(token).toMatch(/^dkt_[A-Za-z0-9_-]{43}$/);
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: bearer(token) })).statusCode,
    ).toBe(200);
    const write = await t.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: bearer(token),
      payload: { name: 'nope' },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json()).toMatchObject({ code: 'insufficient_scope' });
    const listed = await t.app.inject({ url: '/api/v1/users/me/tokens', headers: user.headers });
    expect(listed.body).not.toContain(token);
    expect(
      listed.json<{ items: { last_used_at: string | null }[] }>().items[0]?.last_used_at,
    ).not.toBeNull();
    const fromToken = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/tokens',
      headers: bearer(token),
      payload: { name: 'x', scopes: ['read'] },
    });
    expect(fromToken.statusCode).toBe(403);
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/users/me/tokens/${id}`,
          headers: user.headers,
        })
      ).statusCode,
    ).toBe(204);
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: bearer(token) })).statusCode,
    ).toBe(401);
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/users/me/tokens/${id}`,
          headers: user.headers,
        })
      ).statusCode,
    ).toBe(404);
  });

  it('when a write token is revoked through /auth/revoke or has expired, then it stops', async () => {
    const user = await createUser(t.app);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/tokens',
      headers: user.headers,
      payload: { name: 'w', scopes: ['read', 'write'] },
    });
    const { token } = created.json<{ token: string }>();
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/projects',
          headers: bearer(token),
          payload: { name: 'ok' },
        })
      ).statusCode,
    ).toBe(201);
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${token}`,
    });
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: bearer(token) })).statusCode,
    ).toBe(401);
    const past = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/tokens',
      headers: user.headers,
      payload: { name: 'old', scopes: ['read'], expires_at: '2020-01-01T00:00:00.000Z' },
    });
    expect(past.statusCode).toBe(422);
  });

  it('when a user is deactivated by a superuser, then its tokens stop; normal users get 403 on admin routes', async () => {
    const admin = await createUser(t.app, { isSuperuser: true });
    const user = await createUser(t.app, { fullName: 'Findable Person' });
    for (const [method, url] of [
      ['GET', '/api/v1/users'],
      ['GET', `/api/v1/users/${admin.user.id}`],
      ['PATCH', `/api/v1/users/${admin.user.id}`],
      ['DELETE', `/api/v1/users/${admin.user.id}`],
    ] as const) {
      const response = await t.app.inject({
        method,
        url,
        headers: user.headers,
        ...(method === 'PATCH' ? { payload: { is_active: false } } : {}),
      });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
    }
    const search = await t.app.inject({ url: '/api/v1/users?q=findable', headers: admin.headers });
    expect(search.json<{ items: { id: string }[] }>().items.map((item) => item.id)).toEqual([
      user.user.id,
    ]);
    const deactivated = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.user.id}`,
      headers: admin.headers,
      payload: { is_active: false },
    });
    expect(deactivated.json()).toMatchObject({ is_active: false });
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: user.headers })).statusCode,
    ).toBe(401);
    expect(
      (
        await t.app.inject({
          url: '/api/v1/users/01a20c75-c83d-7321-9559-2498ce98cdcc',
          headers: admin.headers,
        })
      ).statusCode,
    ).toBe(404);
    const page = await t.app.inject({ url: '/api/v1/users?limit=1', headers: admin.headers });
    const next = await t.app.inject({
      url: `/api/v1/users?limit=1&cursor=${page.json<{ next_cursor: string }>().next_cursor}`,
      headers: admin.headers,
    });
    expect(next.json<{ items: { id: string }[] }>().items[0]?.id).not.toBe(
      page.json<{ items: { id: string }[] }>().items[0]?.id,
    );
  });

  it('when the only owner of a shared project deletes the account, then 409; otherwise it is deleted', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    await addMember(t.app, projectId, owner, mate, 'editor');
    const refused = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/users/me',
      headers: owner.headers,
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'sole_owner' });
    const leaving = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/users/me',
      headers: mate.headers,
    });
    expect(leaving.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/api/v1/users/me', headers: mate.headers })).statusCode,
    ).toBe(401);
  });

  it('when an account is deleted, then the projects it alone belongs to go with it, tasks and comments too', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const solo = await createProject(t.app, owner, { name: 'Solo' });
    const task = await createTask(t.app, solo, owner);
    const comment = await t.app.inject({
      method: 'POST',
      url: `/api/v1/tasks/${task.id}/comments`,
      headers: owner.headers,
      payload: { body: 'a note' },
    });
    expect(comment.statusCode, comment.body).toBe(201);
    // Shared, but co-owned: not the 409 case, and it must outlive the account.
    const shared = await createProject(t.app, owner, { name: 'Shared' });
    await addMember(t.app, shared, owner, mate, 'owner');
    const sharedTask = await createTask(t.app, shared, owner);

    const deleted = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/users/me',
      headers: owner.headers,
    });
    expect(deleted.statusCode, deleted.body).toBe(204);

    expect(await t.app.db.select().from(users).where(eq(users.id, owner.user.id))).toEqual([]);
    const left = await t.app.db
      .select({ id: projects.id })
      .from(projects)
      .where(inArray(projects.id, [solo, shared]));
    expect(left).toEqual([{ id: shared }]);
    const leftTasks = await t.app.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(inArray(tasks.id, [task.id, sharedTask.id]));
    expect(leftTasks).toEqual([{ id: sharedTask.id }]);
    expect(await t.app.db.select().from(comments).where(eq(comments.taskId, task.id))).toEqual([]);
    expect(
      await t.app.db
        .select({ userId: projectMembers.userId, role: projectMembers.role })
        .from(projectMembers)
        .where(eq(projectMembers.projectId, shared)),
    ).toEqual([{ userId: mate.user.id, role: 'owner' }]);
    const logged = await t.app.db
      .select({ actorId: events.actorId, data: events.data })
      .from(events)
      .where(and(eq(events.projectId, solo), eq(events.type, 'project.deleted')));
    expect(logged).toEqual([
      { actorId: owner.user.id, data: { id: solo, name: 'Solo', reason: 'account_deleted' } },
    ]);
  });

  it('when the sole owner of a shared project is refused, then the account and its solo projects stay', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const solo = await createProject(t.app, owner, { name: 'Solo' });
    const task = await createTask(t.app, solo, owner);
    const shared = await createProject(t.app, owner, { name: 'Shared' });
    await addMember(t.app, shared, owner, mate, 'viewer');
    const admin = await createUser(t.app, { isSuperuser: true });

    for (const [url, headers] of [
      ['/api/v1/users/me', owner.headers],
      [`/api/v1/users/${owner.user.id}`, admin.headers],
    ] as const) {
      const refused = await t.app.inject({ method: 'DELETE', url, headers });
      expect(refused.statusCode, url).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'sole_owner' });
    }
    expect(
      await t.app.db.select({ id: users.id }).from(users).where(eq(users.id, owner.user.id)),
    ).toHaveLength(1);
    const kept = await t.app.db
      .select({ id: projects.id })
      .from(projects)
      .where(inArray(projects.id, [solo, shared]));
    expect(kept.map((row) => row.id).sort()).toEqual([solo, shared].sort());
    expect(
      await t.app.db.select({ id: tasks.id }).from(tasks).where(eq(tasks.id, task.id)),
    ).toHaveLength(1);
  });
});
