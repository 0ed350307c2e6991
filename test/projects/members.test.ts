import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { addMember, createProject, createProjectWithRoles } from '../helpers/projects.js';

const t = useTestApp();

describe('members', () => {
  it('when the last owner would leave or be demoted, then 409 last_owner; with a second owner it works', async () => {
    const f = await createProjectWithRoles(t.app);
    const base = `/api/v1/projects/${f.projectId}/members`;
    const leave = await t.app.inject({
      method: 'DELETE',
      url: `${base}/${f.owner.user.id}`,
      headers: f.owner.headers,
    });
    expect(leave.statusCode).toBe(409);
    expect(leave.json()).toMatchObject({ code: 'last_owner' });
    const demote = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${f.owner.user.id}`,
      headers: f.owner.headers,
      payload: { role: 'admin' },
    });
    expect(demote.statusCode).toBe(409);
    const promote = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${f.admin.user.id}`,
      headers: f.owner.headers,
      payload: { role: 'owner' },
    });
    expect(promote.json()).toMatchObject({ role: 'owner' });
    const nowLeave = await t.app.inject({
      method: 'DELETE',
      url: `${base}/${f.owner.user.id}`,
      headers: f.owner.headers,
    });
    expect(nowLeave.statusCode).toBe(204);
  });

  it('when an admin touches an owner or grants owner, then 403', async () => {
    const f = await createProjectWithRoles(t.app);
    const base = `/api/v1/projects/${f.projectId}/members`;
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `${base}/${f.owner.user.id}`,
          headers: f.admin.headers,
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await t.app.inject({
          method: 'PATCH',
          url: `${base}/${f.editor.user.id}`,
          headers: f.admin.headers,
          payload: { role: 'owner' },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await t.app.inject({
          method: 'PATCH',
          url: `${base}/${f.owner.user.id}`,
          headers: f.admin.headers,
          payload: { role: 'viewer' },
        })
      ).statusCode,
    ).toBe(403);
  });

  it('when adding an unknown email or an existing member, then 404 or 409', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    await addMember(t.app, projectId, owner, mate, 'viewer');
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/members`,
      headers: owner.headers,
      payload: { email: mate.user.email.toUpperCase(), role: 'editor' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'member_exists' });
    const unknown = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/members`,
      headers: owner.headers,
      payload: { email: 'nobody@example.com', role: 'editor' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'user_not_found' });
    const bad = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/members`,
      headers: owner.headers,
      payload: { email: 'not-an-email', role: 'boss' },
    });
    expect(bad.statusCode).toBe(422);
    expect(
      bad
        .json<{ errors: { field: string }[] }>()
        .errors.map((error) => error.field)
        .sort(),
    ).toEqual(['email', 'role']);
  });

  it('when a member is not in the project, then changing it is 404 member_not_found', async () => {
    const f = await createProjectWithRoles(t.app);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${f.projectId}/members/${f.outsider.user.id}`,
      headers: f.owner.headers,
      payload: { role: 'viewer' },
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'member_not_found' });
  });

  it('when members are listed, then pages hold everyone once', async () => {
    const f = await createProjectWithRoles(t.app);
    const first = await t.app.inject({
      url: `/api/v1/projects/${f.projectId}/members?limit=3`,
      headers: f.viewer.headers,
    });
    const body = first.json<{
      items: { user_id: string; role: string; email: string }[];
      next_cursor: string;
    }>();
    const second = await t.app.inject({
      url: `/api/v1/projects/${f.projectId}/members?limit=3&cursor=${body.next_cursor}`,
      headers: f.viewer.headers,
    });
    const rest = second.json<{ items: { user_id: string }[]; next_cursor: null }>();
    const ids = [...body.items, ...rest.items].map((member) => member.user_id).sort();
    expect(ids).toEqual([f.owner, f.admin, f.editor, f.viewer].map((user) => user.user.id).sort());
    expect(rest.next_cursor).toBeNull();
    expect(JSON.stringify(body)).not.toContain('password');
  });

  it('when a project is created with invalid fields, then 422 names them', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: owner.headers,
      payload: { name: '', color: 'red', description: 'x'.repeat(10_001) },
    });
    expect(response.statusCode).toBe(422);
    expect(
      response
        .json<{ errors: { field: string }[] }>()
        .errors.map((error) => error.field)
        .sort(),
    ).toEqual(['color', 'description', 'name']);
  });
});
