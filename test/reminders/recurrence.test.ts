import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { events, tasks } from '../../src/db/schema/index.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';

const t = useTestApp({ config: { workers: false } });
let owner: TestUser;
let viewer: TestUser;
let projectId: string;

beforeAll(async () => {
  owner = await createUser(t.app);
  viewer = await createUser(t.app);
  projectId = await createProject(t.app, owner);
  await addMember(t.app, projectId, owner, viewer, 'viewer');
});

type Task = Record<string, unknown> & { id: string };

async function patch(taskId: string, payload: Record<string, unknown>, by = owner) {
  return t.app.inject({
    method: 'PATCH',
    url: `/api/v1/tasks/${taskId}`,
    headers: by.headers,
    payload,
  });
}

/** Completes a task and returns the open occurrence that followed it, if any. */
async function complete(task: Task): Promise<Task | null> {
  const done = await patch(task.id, { status: 'done' });
  expect(done.statusCode, done.body).toBe(200);
  expect(done.json()).toMatchObject({ status: 'done', recurrence: null });
  const rows = await t.app.db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.seriesId, task.series_id as string), eq(tasks.status, 'todo')));
  if (rows.length === 0) return null;
  expect(rows).toHaveLength(1);
  const next = await t.app.inject({ url: `/api/v1/tasks/${rows[0]!.id}`, headers: owner.headers });
  return next.json<Task>();
}

async function create(body: Record<string, unknown>) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/projects/${projectId}/tasks`,
    headers: owner.headers,
    payload: { title: 'Recurring', ...body },
  });
}

describe('recurring tasks', () => {
  it('when a weekly 09:00 Europe/Berlin task is completed across the DST change, then the next one is 09:00 local, reminder shifted alike', async () => {
    const first = await createTask(t.app, projectId, owner, {
      title: 'Weekly review',
      labels: ['work'],
      assignee_id: viewer.user.id,
      due_at: '2026-03-23T08:00:00.000Z', // Monday 09:00 at UTC+1
      remind_at: '2026-03-22T17:00:00.000Z', // Sunday 18:00
      recurrence: 'rrule:freq=weekly;byday=mo',
      timezone: 'europe/berlin',
    });
    expect(first).toMatchObject({
      recurrence: 'FREQ=WEEKLY;BYDAY=MO',
      timezone: 'Europe/Berlin',
      series_id: first.id,
    });
    const next = await complete(first);
    expect(next).toMatchObject({
      title: 'Weekly review',
      labels: ['work'],
      assignee_id: viewer.user.id,
      status: 'todo',
      due_at: '2026-03-30T07:00:00.000Z', // Monday 09:00 at UTC+2
      remind_at: '2026-03-29T16:00:00.000Z', // Sunday 18:00
      recurrence: 'FREQ=WEEKLY;BYDAY=MO',
      timezone: 'Europe/Berlin',
      series_id: first.id,
    });
    const created = await t.app.db
      .select()
      .from(events)
      .where(and(eq(events.type, 'task.created'), eq(events.entityId, next!.id)));
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ actorId: owner.user.id });
  });

  it('when a monthly task on day 31 is completed, then months without a 31st are skipped', async () => {
    let task: Task | null = await createTask(t.app, projectId, owner, {
      due_at: '2026-01-31T10:00:00.000Z',
      recurrence: 'FREQ=MONTHLY;BYMONTHDAY=31',
    });
    const dues: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      task = await complete(task!);
      dues.push(task!.due_at as string);
    }
    expect(dues).toEqual([
      '2026-03-31T10:00:00.000Z',
      '2026-05-31T10:00:00.000Z',
      '2026-07-31T10:00:00.000Z',
    ]);
  });

  it('when a task recurs by its reminder only, then the reminder moves on', async () => {
    const task = await createTask(t.app, projectId, owner, {
      remind_at: '2026-06-01T07:00:00.000Z',
      recurrence: 'FREQ=DAILY;INTERVAL=2',
    });
    const next = await complete(task);
    expect(next).toMatchObject({ due_at: null, remind_at: '2026-06-03T07:00:00.000Z' });
  });

  it('when COUNT runs out, then the series ends', async () => {
    const first = await createTask(t.app, projectId, owner, {
      due_at: '2026-06-01T07:00:00.000Z',
      recurrence: 'FREQ=DAILY;COUNT=2',
    });
    const second = await complete(first);
    expect(second).toMatchObject({ recurrence: 'FREQ=DAILY;COUNT=1' });
    expect(await complete(second!)).toBeNull();
  });

  it.each([
    [{ due_at: '9999-12-31T12:00:00.000Z', recurrence: 'FREQ=DAILY' }],
    [
      {
        due_at: '9999-12-30T12:00:00.000Z',
        remind_at: '9999-12-31T12:00:00.000Z',
        recurrence: 'FREQ=DAILY',
      },
    ],
    [{ remind_at: '9999-12-31T23:00:00.000Z', recurrence: 'FREQ=DAILY' }],
  ])(
    'when the next occurrence would fall after year 9999 (%o), then completing ends the series',
    async (body) => {
      const task = await createTask(t.app, projectId, owner, body);
      expect(await complete(task)).toBeNull();
    },
  );

  it('when recurrence is cleared, then completing creates nothing and earlier occurrences stay', async () => {
    const first = await createTask(t.app, projectId, owner, {
      due_at: '2026-06-01T07:00:00.000Z',
      recurrence: 'FREQ=DAILY',
    });
    const second = await complete(first);
    const cleared = await patch(second!.id, { recurrence: null });
    expect(cleared.json()).toMatchObject({ recurrence: null, series_id: first.id });
    expect(await complete(second!)).toBeNull();
    const series = await t.app.db
      .select({ id: tasks.id, status: tasks.status })
      .from(tasks)
      .where(eq(tasks.seriesId, first.id));
    expect(series).toHaveLength(2);
    expect(series.every((row) => row.status === 'done')).toBe(true);
  });

  it('when a completed occurrence is reopened and completed again, then the series does not fork', async () => {
    const first = await createTask(t.app, projectId, owner, {
      due_at: '2026-06-01T07:00:00.000Z',
      recurrence: 'FREQ=DAILY',
    });
    await complete(first);
    expect((await patch(first.id, { status: 'todo' })).statusCode).toBe(200);
    expect((await patch(first.id, { status: 'done' })).statusCode).toBe(200);
    const series = await t.app.db.select().from(tasks).where(eq(tasks.seriesId, first.id));
    expect(series).toHaveLength(2);
  });

  it('when recurrence is added later by PATCH, then the task starts a series of its own', async () => {
    const task = await createTask(t.app, projectId, owner, { due_at: '2026-06-01T07:00:00.000Z' });
    const response = await patch(task.id, { recurrence: 'FREQ=YEARLY', timezone: 'UTC' });
    expect(response.json()).toMatchObject({ recurrence: 'FREQ=YEARLY', series_id: task.id });
    const next = await complete(response.json<Task>());
    expect(next).toMatchObject({ due_at: '2027-06-01T07:00:00.000Z' });
  });

  it.each([
    ['FREQ=HOURLY', 'invalid_recurrence'],
    ['FREQ=MINUTELY', 'invalid_recurrence'],
    ['FREQ=SECONDLY', 'invalid_recurrence'],
    ['FREQ=WEEKLY;BYDAY=FUNDAY', 'invalid_recurrence'],
    ['FREQ=MONTHLY;BYMONTHDAY=32', 'invalid_recurrence'],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', 'invalid_recurrence'],
    ['DTSTART:20260101T000000Z', 'invalid_recurrence'],
    ['FREQ=DAILY\nRRULE:FREQ=DAILY', 'invalid_recurrence'],
  ])('when the rule is %j, then 422 %s', async (recurrence, code) => {
    const response = await create({ due_at: '2026-06-01T07:00:00.000Z', recurrence });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code });
    expect(response.json().errors[0]).toMatchObject({ field: 'recurrence', code });
    // The message speaks of the rule, never of the library's loop limits.
    expect(response.body).not.toMatch(/iterations|all\(\)/);
  });

  it.each(['Mars/Olympus', '+01:00', 'Europe/Berlin; DROP TABLE tasks', ''])(
    'when the time zone is %j, then 422',
    async (timezone) => {
      const response = await create({
        due_at: '2026-06-01T07:00:00.000Z',
        recurrence: 'FREQ=DAILY',
        timezone,
      });
      expect(response.statusCode).toBe(422);
      expect(response.json().errors[0]).toMatchObject({ field: 'timezone' });
    },
  );

  it('when a rule is too long, or has no date to start from, then 422', async () => {
    const long = await create({
      due_at: '2026-06-01T07:00:00.000Z',
      recurrence: `FREQ=DAILY;${'BYDAY=MO;'.repeat(60)}`,
    });
    expect(long.statusCode).toBe(422);
    expect(long.json().errors[0]).toMatchObject({ field: 'recurrence' });
    const undated = await create({ recurrence: 'FREQ=DAILY' });
    expect(undated.statusCode).toBe(422);
    expect(undated.json()).toMatchObject({ code: 'invalid_recurrence' });
    const task = await createTask(t.app, projectId, owner, {
      due_at: '2026-06-01T07:00:00.000Z',
      recurrence: 'FREQ=DAILY',
    });
    const undating = await patch(task.id, { due_at: null });
    expect(undating.statusCode).toBe(422);
    expect(undating.json()).toMatchObject({ code: 'invalid_recurrence' });
  });

  it('when a viewer or a stranger sets a rule, then 403 and 404', async () => {
    const task = await createTask(t.app, projectId, owner, { due_at: '2026-06-01T07:00:00.000Z' });
    expect((await patch(task.id, { recurrence: 'FREQ=DAILY' }, viewer)).statusCode).toBe(403);
    const stranger = await createUser(t.app);
    expect((await patch(task.id, { recurrence: 'FREQ=DAILY' }, stranger)).statusCode).toBe(404);
  });
});
