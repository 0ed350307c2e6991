import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { events } from '../../src/db/schema/index.js';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';

const t = useTestApp();

async function eventsOf(projectId: string): Promise<string[]> {
  const rows = await t.app.db
    .select()
    .from(events)
    .where(eq(events.projectId, projectId))
    .orderBy(events.seq);
  return rows.map((row) => row.type);
}

describe('conditional requests', () => {
  it('when GET sends If-None-Match with the ETag, then 304; after a change, 200 with a new ETag', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const task = await createTask(t.app, projectId, owner);
    const first = await t.app.inject({ url: `/api/v1/tasks/${task.id}`, headers: owner.headers });
    const etag = first.headers.etag as string;
    expect(etag).toBe('"v1"');
    const cached = await t.app.inject({
      url: `/api/v1/tasks/${task.id}`,
      headers: { ...owner.headers, 'if-none-match': etag },
    });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: owner.headers,
      payload: { title: 'new' },
    });
    const fresh = await t.app.inject({
      url: `/api/v1/tasks/${task.id}`,
      headers: { ...owner.headers, 'if-none-match': etag },
    });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers.etag).toBe('"v2"');
  });

  it('when If-Match is stale, then PATCH and DELETE answer 412 and change nothing', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const task = await createTask(t.app, projectId, owner, { title: 'original' });
    for (const ifMatch of ['"v7"', '"garbage"', 'W/"v1"']) {
      const patch = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/tasks/${task.id}`,
        headers: { ...owner.headers, 'if-match': ifMatch },
        payload: { title: 'lost' },
      });
      expect(patch.statusCode, ifMatch).toBe(412);
      expect(patch.json()).toMatchObject({ code: 'precondition_failed' });
    }
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/tasks/${task.id}`,
      headers: { ...owner.headers, 'if-match': '"v9"' },
    });
    expect(del.statusCode).toBe(412);
    const current = await t.app.inject({ url: `/api/v1/tasks/${task.id}`, headers: owner.headers });
    expect(current.json()).toMatchObject({ title: 'original', version: 1 });
    const ok = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: { ...owner.headers, 'if-match': '"v1"' },
      payload: { title: 'kept' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers.etag).toBe('"v2"');
    expect(await eventsOf(projectId)).toEqual(['project.created', 'task.created', 'task.updated']);
  });

  it('when two PATCHes of different fields race without If-Match, then both land and version counts both', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const task = await createTask(t.app, projectId, owner);
    const [a, b] = await Promise.all([
      t.app.inject({
        method: 'PATCH',
        url: `/api/v1/tasks/${task.id}`,
        headers: owner.headers,
        payload: { title: 'from a' },
      }),
      t.app.inject({
        method: 'PATCH',
        url: `/api/v1/tasks/${task.id}`,
        headers: owner.headers,
        payload: { priority: 'high' },
      }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const current = await t.app.inject({ url: `/api/v1/tasks/${task.id}`, headers: owner.headers });
    expect(current.json()).toMatchObject({ title: 'from a', priority: 'high', version: 3 });
  });

  it('when project PATCH uses If-Match, then the same rules hold', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const stale = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${projectId}`,
      headers: { ...owner.headers, 'if-match': '"v2"' },
      payload: { archived: true },
    });
    expect(stale.statusCode).toBe(412);
    const ok = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${projectId}`,
      headers: { ...owner.headers, 'if-match': '"v1"' },
      payload: { archived: true, color: '#aabbcc' },
    });
    expect(ok.json()).toMatchObject({ archived: true, color: '#aabbcc', version: 2 });
    const archived = await t.app.inject({
      url: '/api/v1/projects?archived=true',
      headers: owner.headers,
    });
    expect(archived.json<{ items: { id: string }[] }>().items.map((p) => p.id)).toEqual([
      projectId,
    ]);
    const active = await t.app.inject({
      url: '/api/v1/projects?archived=false',
      headers: owner.headers,
    });
    expect(active.json<{ items: unknown[] }>().items).toEqual([]);
  });
});

describe('idempotency keys', () => {
  it('when the same key and body are sent again, then the first answer is replayed and one task exists', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const request = {
      method: 'POST' as const,
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: { ...owner.headers, 'idempotency-key': 'key-1' },
      payload: { title: 'once', labels: ['x'] },
    };
    const first = await t.app.inject(request);
    const second = await t.app.inject({ ...request, payload: { labels: ['x'], title: 'once' } });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotency-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    const list = await t.app.inject({
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: owner.headers,
    });
    expect(list.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('when the same key comes with another body, then 422 idempotency_key_reused', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const headers = { ...owner.headers, 'idempotency-key': 'key-2' };
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/tasks`,
      headers,
      payload: { title: 'one' },
    });
    const reused = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/tasks`,
      headers,
      payload: { title: 'two' },
    });
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: 'idempotency_key_reused' });
  });

  it('when two requests with one key arrive together, then one creates and the other is 409 or a replay', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const request = {
      method: 'POST' as const,
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: { ...owner.headers, 'idempotency-key': 'race' },
      payload: { title: 'race' },
    };
    const responses = await Promise.all([
      t.app.inject(request),
      t.app.inject(request),
      t.app.inject(request),
    ]);
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses.filter((status) => status === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 201 || status === 409)).toBe(true);
    const conflicts = responses.filter((response) => response.statusCode === 409);
    for (const conflict of conflicts)
      expect(conflict.json()).toMatchObject({ code: 'idempotency_key_in_use' });
    const list = await t.app.inject({
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: owner.headers,
    });
    expect(list.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('when keys are scoped per caller, then another user with the same key creates its own', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    await addMember(t.app, projectId, owner, mate, 'editor');
    for (const user of [owner, mate]) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/tasks`,
        headers: { ...user.headers, 'idempotency-key': 'shared' },
        payload: { title: 'same' },
      });
      expect(response.headers['idempotency-replayed']).toBeUndefined();
    }
    const list = await t.app.inject({
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: owner.headers,
    });
    expect(list.json<{ items: unknown[] }>().items).toHaveLength(2);
  });

  it('when the key is too long, then 422', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: { ...owner.headers, 'idempotency-key': 'k'.repeat(256) },
      payload: { name: 'x' },
    });
    expect(response.statusCode).toBe(422);
  });
});

describe('events and task rules', () => {
  it('when things change, then each change writes exactly one event; a failed change writes none', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    await addMember(t.app, projectId, owner, mate, 'viewer');
    const task = await createTask(t.app, projectId, owner);
    const comment = await t.app.inject({
      method: 'POST',
      url: `/api/v1/tasks/${task.id}/comments`,
      headers: owner.headers,
      payload: { body: 'c' },
    });
    const commentId = comment.json<{ id: string }>().id;
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/comments/${commentId}`,
      headers: owner.headers,
      payload: { body: 'd' },
    });
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${projectId}/members/${mate.user.id}`,
      headers: owner.headers,
      payload: { role: 'editor' },
    });
    // Failures: bad assignee, last owner leaving, a stale If-Match.
    expect(
      (
        await t.app.inject({
          method: 'PATCH',
          url: `/api/v1/tasks/${task.id}`,
          headers: owner.headers,
          payload: { assignee_id: '00000000-0000-7000-8000-000000000000' },
        })
      ).statusCode,
    ).toBe(422);
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/projects/${projectId}/members/${owner.user.id}`,
          headers: owner.headers,
        })
      ).statusCode,
    ).toBe(409);
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/comments/${commentId}`,
          headers: { ...owner.headers, 'if-match': '"v1"' },
        })
      ).statusCode,
    ).toBe(412);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/comments/${commentId}`,
      headers: owner.headers,
    });
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/tasks/${task.id}`,
      headers: owner.headers,
    });
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}/members/${mate.user.id}`,
      headers: mate.headers,
    });
    expect(await eventsOf(projectId)).toEqual([
      'project.created',
      'member.added',
      'task.created',
      'comment.created',
      'comment.updated',
      'member.updated',
      'comment.deleted',
      'task.deleted',
      'member.removed',
    ]);
    const activity = await t.app.inject({
      url: `/api/v1/projects/${projectId}/activity?limit=4`,
      headers: owner.headers,
    });
    const body = activity.json<{
      items: { type: string; actor_id: string }[];
      next_cursor: string;
    }>();
    expect(body.items.map((event) => event.type)).toEqual([
      'member.removed',
      'task.deleted',
      'comment.deleted',
      'member.updated',
    ]);
    const next = await t.app.inject({
      url: `/api/v1/projects/${projectId}/activity?limit=4&cursor=${body.next_cursor}`,
      headers: owner.headers,
    });
    expect(next.json<{ items: { type: string }[] }>().items.map((event) => event.type)).toEqual([
      'comment.updated',
      'comment.created',
      'task.created',
      'member.added',
    ]);
  });

  it('when status becomes done, then completed_at is set; leaving done clears it', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const task = await createTask(t.app, projectId, owner);
    expect(task.completed_at).toBeNull();
    const done = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: owner.headers,
      payload: { status: 'done' },
    });
    expect(done.json().completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const reopened = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: owner.headers,
      payload: { status: 'in_progress' },
    });
    expect(reopened.json().completed_at).toBeNull();
  });

  it('when server-owned or unknown fields are sent, then 422 lists them', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: owner.headers,
      payload: {
        title: 'x',
        id: 'a',
        version: 3,
        completed_at: null,
        created_by: 'me',
        surprise: 1,
      },
    });
    expect(response.statusCode).toBe(422);
    const fields = response
      .json<{ errors: { field: string; code: string }[] }>()
      .errors.map((error) => error.field)
      .sort();
    expect(fields).toEqual(['completed_at', 'created_by', 'id', 'surprise', 'version']);
  });

  it('when a parent would create a cycle, or live in another project, then 422', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const otherProject = await createProject(t.app, owner);
    const a = await createTask(t.app, projectId, owner, { title: 'a' });
    const b = await createTask(t.app, projectId, owner, { title: 'b', parent_id: a.id });
    const c = await createTask(t.app, projectId, owner, { title: 'c', parent_id: b.id });
    const cycle = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${a.id}`,
      headers: owner.headers,
      payload: { parent_id: c.id },
    });
    expect(cycle.statusCode).toBe(422);
    const self = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${a.id}`,
      headers: owner.headers,
      payload: { parent_id: a.id },
    });
    expect(self.statusCode).toBe(422);
    const foreign = await createTask(t.app, otherProject, owner);
    const crossProject = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: owner.headers,
      payload: { title: 'x', parent_id: foreign.id },
    });
    expect(crossProject.statusCode).toBe(422);
  });

  it('when a task moves projects, then it needs editor on both and leaves its subtasks rules intact', async () => {
    const owner = await createUser(t.app);
    const other = await createUser(t.app);
    const from = await createProject(t.app, owner);
    const to = await createProject(t.app, other);
    await addMember(t.app, to, other, owner, 'viewer');
    const task = await createTask(t.app, from, owner, { title: 'moving' });
    const asViewer = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: owner.headers,
      payload: { project_id: to },
    });
    expect(asViewer.statusCode).toBe(403);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${to}/members/${owner.user.id}`,
      headers: other.headers,
      payload: { role: 'editor' },
    });
    const withChild = await createTask(t.app, from, owner, { title: 'parent' });
    await createTask(t.app, from, owner, { title: 'child', parent_id: withChild.id });
    const blocked = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${withChild.id}`,
      headers: owner.headers,
      payload: { project_id: to },
    });
    expect(blocked.statusCode).toBe(409);
    const moved = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: owner.headers,
      payload: { project_id: to },
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ project_id: to });
    expect(await eventsOf(to)).toContain('task.moved');
    expect(await eventsOf(from)).toContain('task.moved');
  });

  it('when a project is deleted, then its tasks, comments and memberships go with it', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const task = await createTask(t.app, projectId, owner);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}`,
      headers: owner.headers,
    });
    expect(deleted.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: `/api/v1/tasks/${task.id}`, headers: owner.headers })).statusCode,
    ).toBe(404);
    expect(
      (await t.app.inject({ url: `/api/v1/projects/${projectId}`, headers: owner.headers }))
        .statusCode,
    ).toBe(404);
    expect(await eventsOf(projectId)).toContain('project.deleted');
  });

  it('when ids in the path are malformed or unknown, then 422 or 404', async () => {
    const owner = await createUser(t.app);
    expect(
      (await t.app.inject({ url: '/api/v1/tasks/not-a-uuid', headers: owner.headers })).statusCode,
    ).toBe(422);
    expect(
      (
        await t.app.inject({
          url: '/api/v1/tasks/01a20c75-c83d-7321-9559-2498ce98cdcc',
          headers: owner.headers,
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await t.app.inject({
          url: '/api/v1/projects/01a20c75-c83d-7321-9559-2498ce98cdcc/tasks',
          headers: owner.headers,
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await t.app.inject({
          method: 'PATCH',
          url: '/api/v1/comments/01a20c75-c83d-7321-9559-2498ce98cdcc',
          headers: owner.headers,
          payload: { body: 'x' },
        })
      ).statusCode,
    ).toBe(404);
    const onUnknownTask = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/01a20c75-c83d-7321-9559-2498ce98cdcc/comments',
      headers: owner.headers,
      payload: { body: 'into the void' },
    });
    expect(onUnknownTask.statusCode).toBe(404);
    expect(onUnknownTask.json()).toMatchObject({ code: 'task_not_found' });
  });
});
