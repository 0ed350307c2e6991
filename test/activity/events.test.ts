import { asc, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { events } from '../../src/db/schema/index.js';
import { createValidators } from '../../src/lib/ajv.js';
import { EVENT_TYPES, EventSchema } from '../../src/modules/activity/events.schemas.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';

const t = useTestApp();
const validateEvent = createValidators().body.compile(EventSchema);

interface Event {
  id: string;
  type: string;
  project_id: string;
  entity_id: string;
  data: Record<string, unknown>;
}

async function activity(projectId: string, user: TestUser): Promise<Event[]> {
  const response = await t.app.inject({
    url: `/api/v1/projects/${projectId}/activity?limit=200`,
    headers: user.headers,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ items: Event[] }>().items.reverse();
}

async function storedEvents(projectId: string) {
  return t.app.db
    .select()
    .from(events)
    .where(eq(events.projectId, projectId))
    .orderBy(asc(events.seq));
}

async function inject(
  user: TestUser,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
) {
  const response = await t.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: user.headers,
    ...(payload ? { payload } : {}),
  });
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
  return response.statusCode === 204 ? undefined : response.json<Record<string, unknown>>();
}

describe('typed events', () => {
  it('when things change, then each event’s data is the resource as its GET shows it after the change', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const projectId = await createProject(t.app, owner, { name: 'Typed' });
    await inject(owner, 'PATCH', `/projects/${projectId}`, { description: 'now described' });
    await addMember(t.app, projectId, owner, mate, 'viewer');
    await inject(owner, 'PATCH', `/projects/${projectId}/members/${mate.user.id}`, {
      role: 'editor',
    });
    const task = await createTask(t.app, projectId, owner, { title: 'typed task' });
    await inject(owner, 'PATCH', `/tasks/${task.id}`, { priority: 'high' });
    await inject(owner, 'PATCH', `/tasks/${task.id}`, { status: 'done' });
    const comment = await inject(owner, 'POST', `/tasks/${task.id}/comments`, { body: 'hi' });

    const log = await activity(projectId, owner);
    expect(log.map((event) => event.type)).toEqual([
      'project.created',
      'project.updated',
      'member.added',
      'member.updated',
      'task.created',
      'task.updated',
      'task.completed',
      'comment.created',
    ]);
    for (const event of log) expect(validateEvent(event), JSON.stringify(event)).toBe(true);

    const { role: _role, ...project } = (await inject(owner, 'GET', `/projects/${projectId}`))!;
    expect(log[1]?.data).toEqual(project);
    const members = await inject(owner, 'GET', `/projects/${projectId}/members`);
    const member = (members?.items as { user_id: string }[]).find(
      (item) => item.user_id === mate.user.id,
    );
    expect(log[3]?.data).toMatchObject({ ...member, updated_at: expect.any(String) });
    const current = await inject(owner, 'GET', `/tasks/${task.id}`);
    expect(log[6]?.data).toEqual(current);
    expect(log[5]?.data).toMatchObject({ priority: 'high', status: 'todo', version: 2 });
    expect(log[7]?.data).toEqual(comment);
  });

  it('when the OpenAPI document is read, then the activity endpoint shows the named Event union', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { anyOf?: { title?: string }[] }> };
    }>();
    const event = doc.components.schemas.Event;
    expect(event?.anyOf?.map((branch) => branch.title)).toEqual(EVENT_TYPES);
    const activityDoc = JSON.stringify(
      doc.paths['/api/v1/projects/{id}/activity']?.get?.responses['200'],
    );
    expect(activityDoc).toContain('#/components/schemas/Event');
  });
});

describe('event defects', () => {
  it('when a comment is edited, then its earlier text leaves the log; when deleted, all of it does', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const task = await createTask(t.app, projectId, owner);
    const comment = await inject(owner, 'POST', `/tasks/${task.id}/comments`, {
      body: 'first secret words',
    });
    const url = `/comments/${comment?.id as string}`;
    await inject(owner, 'PATCH', url, { body: 'second secret words' });
    await inject(owner, 'PATCH', url, { body: 'third words' });

    let stored = JSON.stringify(await storedEvents(projectId));
    expect(stored).not.toContain('first secret');
    expect(stored).not.toContain('second secret');
    const log = await activity(projectId, owner);
    const bodies = log
      .filter((event) => event.type.startsWith('comment.'))
      .map((event) => event.data.body);
    expect(bodies).toEqual([null, null, 'third words']);

    await inject(owner, 'DELETE', url);
    stored = JSON.stringify(await storedEvents(projectId));
    expect(stored).not.toContain('third words');
    const after = await activity(projectId, owner);
    expect(after.filter((event) => event.type.startsWith('comment.')).map((e) => e.type)).toEqual([
      'comment.created',
      'comment.updated',
      'comment.updated',
      'comment.deleted',
    ]);
    for (const event of after) expect(validateEvent(event), JSON.stringify(event)).toBe(true);
  });

  it('when a task with comments is deleted, then the text of its and its subtasks’ comments leaves the log', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const parent = await createTask(t.app, projectId, owner);
    const child = await createTask(t.app, projectId, owner, { parent_id: parent.id });
    await inject(owner, 'POST', `/tasks/${parent.id}/comments`, { body: 'parent remark' });
    await inject(owner, 'POST', `/tasks/${child.id}/comments`, { body: 'child remark' });
    await inject(owner, 'DELETE', `/tasks/${parent.id}`);
    const stored = JSON.stringify(await storedEvents(projectId));
    expect(stored).not.toContain('parent remark');
    expect(stored).not.toContain('child remark');
    const deleted = (await activity(projectId, owner)).at(-1);
    expect(deleted).toMatchObject({
      type: 'task.deleted',
      data: { id: parent.id, subtask_ids: [child.id] },
    });
  });

  it('when a task moves to another project, then task.moved is written in both, the task only in the target', async () => {
    const owner = await createUser(t.app);
    const from = await createProject(t.app, owner);
    const to = await createProject(t.app, owner);
    const task = await createTask(t.app, from, owner);
    const moved = await inject(owner, 'PATCH', `/tasks/${task.id}`, {
      project_id: to,
      title: 'moved',
    });
    const source = (await activity(from, owner)).at(-1);
    const target = (await activity(to, owner)).at(-1);
    const common = { id: task.id, from_project_id: from, to_project_id: to };
    expect(source).toMatchObject({ type: 'task.moved', project_id: from, data: common });
    expect(source?.data.task).toBeNull();
    expect(target).toMatchObject({ type: 'task.moved', project_id: to, data: common });
    expect(target?.data.task).toEqual(moved);
    expect(source?.id).not.toBe(target?.id);
  });

  it('when a project is deleted, then its comment text leaves the log', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner, { name: 'Gone' });
    const task = await createTask(t.app, projectId, owner);
    await inject(owner, 'POST', `/tasks/${task.id}/comments`, { body: 'project remark' });
    await inject(owner, 'DELETE', `/projects/${projectId}`);
    const stored = await storedEvents(projectId);
    expect(JSON.stringify(stored)).not.toContain('project remark');
    expect(stored.at(-1)).toMatchObject({
      type: 'project.deleted',
      data: { id: projectId, name: 'Gone' },
    });
  });

  it('when the events table is read, then every row has a commit position', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const rows = await t.app.db.execute(
      sql`select txid::text as txid from events where project_id = ${projectId}`,
    );
    const list = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as {
      txid: string;
    }[];
    expect(list.length).toBe(1);
    expect(BigInt(list[0]!.txid)).toBeGreaterThan(0n);
  });
});
