import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultRows } from '../../src/db/client.js';
import { events, tasks } from '../../src/db/schema/index.js';
import { reminderQueue, reminderSweepQueue } from '../../src/jobs/reminders.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';
import { waitFor } from '../helpers/redis-server.js';
import { startSmtpServer } from '../helpers/smtp.js';

const PUBLIC_URL = 'https://tasks.example.com';
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let t: TestApp;
let owner: TestUser;
let assignee: TestUser;
let projectId: string;

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({
    config: { smtpUrl: smtp.url, publicUrl: PUBLIC_URL, jobPollIntervalMs: 500 },
  });
  owner = await createUser(t.app);
  assignee = await createUser(t.app);
  projectId = await createProject(t.app, owner);
  await addMember(t.app, projectId, owner, assignee, 'editor');
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

async function reminderEvents(app: TestApp['app'], taskId: string) {
  return app.db
    .select()
    .from(events)
    .where(and(eq(events.type, 'task.reminder'), eq(events.entityId, taskId)));
}

async function patch(taskId: string, payload: Record<string, unknown>) {
  const response = await t.app.inject({
    method: 'PATCH',
    url: `/api/v1/tasks/${taskId}`,
    headers: owner.headers,
    payload,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Record<string, unknown>>();
}

/** Runs the job planned for `remindAt` (again), as a late or duplicate delivery would. */
async function replay(taskId: string, remindAt: string) {
  return t.app.services.jobs.run(reminderQueue, { taskId, remindAt });
}

describe('reminders', () => {
  it('when remind_at comes, then the assignee gets one mail with a link and one task.reminder event', async () => {
    const task = await createTask(t.app, projectId, owner, {
      title: 'Call the bank; ask about fees',
      assignee_id: assignee.user.id,
      due_at: '2026-11-23T09:30:00.000Z',
      timezone: 'Europe/Berlin',
      remind_at: inSeconds(1),
    });
    const [mail] = await smtp.waitFor(assignee.user.email, 1, 15_000);
    expect(mail?.raw).toContain('Reminder: Call the bank');
    expect(mail?.raw.replace(/=\r?\n/g, '')).toContain(
      'Monday, 23 November 2026 at 10:30 (Europe/Berlin)',
    );
    expect(mail?.raw.replace(/=\r?\n/g, '')).toContain(`${PUBLIC_URL}/tasks/${task.id}`);
    const fired = await reminderEvents(t.app, task.id);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ projectId, actorId: null });
    expect(fired[0]?.data).toMatchObject({ id: task.id, remind_at: task.remind_at });
    // A duplicate delivery of the same job finds the reminder sent.
    await replay(task.id, task.remind_at as string);
    expect(await reminderEvents(t.app, task.id)).toHaveLength(1);
  });

  it('when the task is unassigned, then the reminder goes to its creator', async () => {
    const creator = await createUser(t.app);
    await addMember(t.app, projectId, owner, creator, 'editor');
    const task = await createTask(t.app, projectId, creator, { remind_at: inSeconds(-60) });
    const [mail] = await smtp.waitFor(creator.user.email, 1, 15_000);
    expect(mail?.raw).toContain(task.id);
  });

  it('when remind_at moves, then the old plan does nothing and the new time fires', async () => {
    const old = inSeconds(3600);
    const task = await createTask(t.app, projectId, owner, { remind_at: old });
    await patch(task.id, { remind_at: inSeconds(-1) });
    await waitFor(async () => (await reminderEvents(t.app, task.id)).length === 1, 'reminder');
    await replay(task.id, old);
    expect(await reminderEvents(t.app, task.id)).toHaveLength(1);
  });

  it('when remind_at is cleared, the task is completed or deleted, then its planned reminder does nothing', async () => {
    const at = inSeconds(3600);
    const cleared = await createTask(t.app, projectId, owner, { remind_at: at });
    await patch(cleared.id, { remind_at: null });
    const completed = await createTask(t.app, projectId, owner, { remind_at: at });
    await patch(completed.id, { status: 'done' });
    const deleted = await createTask(t.app, projectId, owner, { remind_at: at });
    const gone = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/tasks/${deleted.id}`,
      headers: owner.headers,
    });
    expect(gone.statusCode).toBe(204);
    // Time passes: the completed task's reminder is now due, yet it is not sent.
    await t.app.db
      .update(tasks)
      .set({ remindAt: new Date(Date.now() - 1000) })
      .where(eq(tasks.id, completed.id));
    for (const task of [cleared, completed, deleted]) {
      await replay(task.id, at);
      expect(await reminderEvents(t.app, task.id)).toHaveLength(0);
    }
  });

  it('when a done task with a past reminder is reopened, then the reminder fires late, once', async () => {
    const task = await createTask(t.app, projectId, owner, {
      status: 'done',
      remind_at: inSeconds(-30),
    });
    await replay(task.id, task.remind_at as string);
    expect(await reminderEvents(t.app, task.id)).toHaveLength(0);
    await patch(task.id, { status: 'todo' });
    await waitFor(async () => (await reminderEvents(t.app, task.id)).length === 1, 'reminder');
  });

  it('when a sent reminder is moved, then it fires again at the new time', async () => {
    const task = await createTask(t.app, projectId, owner, { remind_at: inSeconds(-5) });
    await waitFor(async () => (await reminderEvents(t.app, task.id)).length === 1, 'first');
    await patch(task.id, { remind_at: inSeconds(-1) });
    await waitFor(async () => (await reminderEvents(t.app, task.id)).length === 2, 'second');
  });

  it.each([
    ['remind_at', 'tomorrow'],
    ['remind_at', '2026-12-01T09:00:00'],
    // A leap second is RFC 3339, but no Date or database column holds it.
    ['remind_at', '2016-12-31T23:59:60Z'],
    ['due_at', '2016-12-31T23:59:60Z'],
    // Years the database cannot store or reads back wrong, or past 9999 in UTC by the offset.
    ['remind_at', '0000-01-01T00:00:00Z'],
    ['remind_at', '0001-01-01T00:00:00Z'],
    ['due_at', '0999-12-31T23:59:59.999Z'],
    ['due_at', '9999-12-31T23:59:59.999-23:59'],
  ])('when %s is %s, then 422 names it and nothing is stored', async (field, value) => {
    const task = await createTask(t.app, projectId, owner);
    for (const request of [
      { method: 'POST' as const, url: `/api/v1/projects/${projectId}/tasks` },
      { method: 'PATCH' as const, url: `/api/v1/tasks/${task.id}` },
    ]) {
      const response = await t.app.inject({
        ...request,
        headers: owner.headers,
        payload: { title: 'x', [field]: value },
      });
      expect(response.statusCode, response.body).toBe(422);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json().errors).toEqual([
        expect.objectContaining({ location: 'body', field, code: 'invalid_format' }),
      ]);
    }
    const [stored] = await t.app.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(stored).toMatchObject({ title: 'A task', remindAt: null, dueAt: null });
  });

  it.each(['1000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2026-12-01T10:00:00+14:00'])(
    'when remind_at is %s, the edge of what is kept, then it is stored as that instant',
    async (value) => {
      const task = await createTask(t.app, projectId, owner);
      const changed = await patch(task.id, { remind_at: value });
      expect(changed.remind_at).toBe(new Date(value).toISOString());
    },
  );
});

describe('reminders across instances and downtime', () => {
  it('when two instances and two sweepers race for the same reminders, then each fires exactly once', async (context) => {
    // Two instances share a PostgreSQL database; PGlite lives inside one process.
    if (t.databaseUrl === null) context.skip();
    const url = t.databaseUrl!;
    const other = await createTestApp({
      databaseUrl: () => url,
      config: {
        smtpUrl: smtp.url,
        publicUrl: PUBLIC_URL,
        jobPollIntervalMs: 500,
        jwtSecret: t.app.config.jwtSecret,
      },
    });
    try {
      const racer = await createUser(t.app);
      await addMember(t.app, projectId, owner, racer, 'editor');
      const at = inSeconds(1);
      const created = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          createTask(i % 2 === 0 ? t.app : other.app, projectId, owner, {
            title: `race ${i}`,
            assignee_id: racer.user.id,
            remind_at: at,
          }),
        ),
      );
      await sleep(1000);
      await Promise.all([
        t.app.services.reminders.fireDue(),
        other.app.services.reminders.fireDue(),
      ]);
      await smtp.waitFor(racer.user.email, 30, 20_000);
      // Let any duplicate that might still be on its way arrive.
      await sleep(1500);
      expect(smtp.inbox.filter((mail) => mail.to.includes(racer.user.email))).toHaveLength(30);
      const rows = resultRows<{ entity_id: string; n: number }>(
        await t.app.db.execute(
          sql`select entity_id, count(*)::int as n from events where type = 'task.reminder' and entity_id in ${created.map((task) => task.id)} group by entity_id`,
        ),
      );
      expect(rows).toHaveLength(30);
      expect(rows.every((row) => row.n === 1)).toBe(true);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('when reminders came due while no worker ran and their jobs were lost, then the sweeper fires each once, late', async (context) => {
    if (t.databaseUrl === null) context.skip();
    const url = t.databaseUrl!;
    const down = await createTestApp({
      databaseUrl: () => url,
      config: { workers: false, publicUrl: PUBLIC_URL, jwtSecret: t.app.config.jwtSecret },
    });
    try {
      // Written through an instance that runs no jobs, then the planned jobs are lost.
      const sleeper = await createUser(t.app);
      await addMember(t.app, projectId, owner, sleeper, 'editor');
      const created = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          createTask(down.app, projectId, owner, {
            title: `missed ${i}`,
            assignee_id: sleeper.user.id,
            remind_at: inSeconds(3600),
          }),
        ),
      );
      const ids = created.map((task) => task.id);
      await t.app.db.execute(
        sql`delete from pgboss.job where name = 'reminder' and data->>'taskId' in ${ids}`,
      );
      // The reminders came due while the process was down.
      await t.app.db
        .update(tasks)
        .set({ remindAt: new Date(Date.now() - 600_000) })
        .where(sql`${tasks.id} in ${ids}`);
      // The first sweep after the restart fires them (unless the minute's scheduled sweep was
      // quicker); a second finds nothing left.
      await down.app.services.jobs.run(reminderSweepQueue, {});
      expect(await t.app.services.jobs.run(reminderSweepQueue, {})).toEqual({ fired: 0 });
      await smtp.waitFor(sleeper.user.email, 5, 20_000);
      for (const id of ids) expect(await reminderEvents(t.app, id)).toHaveLength(1);
    } finally {
      await down.close();
    }
  }, 60_000);
});
