import { readFileSync } from 'node:fs';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { events, importUploads, tasks } from '../../src/db/schema/index.js';
import { useTestApp } from '../helpers/app.js';
import {
  addMember,
  createProject,
  createProjectWithRoles,
  createTask,
} from '../helpers/projects.js';
import { importQueue } from '../../src/jobs/exports.js';
import { expectProblem, refusedCredentials } from '../helpers/refusals.js';
import { reminderSweepQueue } from '../../src/jobs/reminders.js';
import { newId } from '../../src/lib/ids.js';
import {
  exportProject,
  importCsv,
  type JobBody,
  listAllTasks,
  startImport,
  waitForJob,
} from './helpers.js';

const IMPORT_MAX_BYTES = 64 * 1024;
const t = useTestApp({ config: { jobPollIntervalMs: 500, importMaxBytes: IMPORT_MAX_BYTES } });

const TODOIST = readFileSync(new URL('../fixtures/todoist-template.csv', import.meta.url), 'utf8');

async function countRows(table: typeof tasks | typeof events, projectId: string) {
  const [row] = await t.app.db
    .select({ n: sql<number>`count(*)::int` })
    .from(table)
    .where(eq(table.projectId, projectId));
  return row?.n ?? 0;
}

/** What a task is, apart from what an import makes anew (ids, times, versions, creator). */
function essence(task: Record<string, unknown>, titles: Map<unknown, unknown>) {
  return {
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    labels: task.labels,
    assignee_id: task.assignee_id,
    due_at: task.due_at,
    remind_at: task.remind_at,
    completed_at: task.completed_at,
    position: task.position,
    parent: task.parent_id === null ? null : titles.get(task.parent_id),
    recurrence: task.recurrence,
    timezone: task.timezone,
    series: task.series_id === null ? null : titles.get(task.series_id),
  };
}

/** The essence of every task of a list, its parents and series named by title. */
function essences(list: Record<string, unknown>[]) {
  const titles = new Map(list.map((task) => [task.id, task.title]));
  return list.map((task) => essence(task, titles));
}

/** The refused rows of a failed import, without their messages. */
function rowErrors(job: JobBody) {
  return job.error?.rows?.map(({ row, column, code }) => ({ row, column, code }));
}

describe('round trip', () => {
  it('when a project is exported as CSV and imported into another, then the tasks are reproduced', async () => {
    const { projectId, owner, editor } = await createProjectWithRoles(t.app);
    const root = await createTask(t.app, projectId, owner, {
      title: '=cmd|" /C calc"!A0',
      description: 'Multi\nline, "quoted"\r\nand ünïcödé 😀',
      labels: ['one', 'two, three', '@four'],
      priority: 'urgent',
      assignee_id: editor.user.id,
      due_at: '2026-12-24T10:00:00.000Z',
      remind_at: '2026-12-24T09:00:00.000Z',
      position: -1.25,
    });
    const child = await createTask(t.app, projectId, owner, {
      title: 'Child',
      parent_id: root.id,
      status: 'done',
    });
    await createTask(t.app, projectId, owner, { title: 'Grandchild', parent_id: child.id });
    await createTask(t.app, projectId, owner, { title: "'+quoted", status: 'canceled' });
    // A parent that is younger than its subtask: the file lists the subtask first.
    const late = await createTask(t.app, projectId, owner, { title: 'Adopted' });
    const adopter = await createTask(t.app, projectId, owner, { title: 'Adopter' });
    const moved = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${late.id}`,
      headers: owner.headers,
      payload: { parent_id: adopter.id },
    });
    expect(moved.statusCode).toBe(200);
    // A weekly 09:00 Berlin task done once: the done occurrence and the next share a series.
    const weekly = await createTask(t.app, projectId, owner, {
      title: 'Weekly',
      due_at: '2026-03-23T08:00:00.000Z',
      remind_at: '2026-03-23T07:45:00.000Z',
      recurrence: 'FREQ=WEEKLY;BYDAY=MO',
      timezone: 'europe/berlin',
    });
    const done = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${weekly.id}`,
      headers: owner.headers,
      payload: { status: 'done' },
    });
    expect(done.statusCode, done.body).toBe(200);

    const { download } = await exportProject(t.app, owner, projectId, 'csv');
    const target = await createProject(t.app, owner, { name: 'Copy' });
    await addMember(t.app, target, owner, editor, 'editor');
    const job = await importCsv(t.app, owner, target, download.body);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.result).toMatchObject({ format: 'docket_csv', tasks: 8, comments: 0 });

    const original = await listAllTasks(t.app, owner, projectId);
    const copy = await listAllTasks(t.app, owner, target);
    expect(essences(copy)).toEqual(essences(original));
    expect(
      copy.every((task) => task.project_id === target && task.created_by === owner.user.id),
    ).toBe(true);
    // The series survives: the copy's next occurrence is 09:00 Berlin after the DST change, and
    // both occurrences point at the copy of the first one.
    const copies = copy.filter((task) => task.title === 'Weekly');
    expect(
      copies.map((task) => [task.status, task.due_at, task.recurrence, task.timezone]),
    ).toEqual(
      expect.arrayContaining([
        ['done', '2026-03-23T08:00:00.000Z', null, 'Europe/Berlin'],
        ['todo', '2026-03-30T07:00:00.000Z', 'FREQ=WEEKLY;BYDAY=MO', 'Europe/Berlin'],
      ]),
    );
    const first = copies.find((task) => task.status === 'done');
    expect(copies.map((task) => task.series_id)).toEqual([first?.id, first?.id]);
    // Activity as if the tasks had been created one by one.
    const created = await t.app.db.select().from(events).where(eq(events.projectId, target));
    expect(created.filter((event) => event.type === 'task.created')).toHaveLength(8);
    const uploads = await t.app.db
      .select()
      .from(importUploads)
      .where(eq(importUploads.projectId, target));
    expect(uploads).toEqual([]);
  });
});

describe('Docket JSON', () => {
  it('when a project is exported as JSON and imported into another, then its tasks, series and comments are reproduced', async () => {
    const { projectId, owner, editor } = await createProjectWithRoles(t.app);
    const root = await createTask(t.app, projectId, owner, {
      title: "'=not a formula",
      description: 'Line\nbreak',
      labels: ['one', 'two, three'],
      priority: 'high',
      assignee_id: editor.user.id,
      due_at: '2026-12-24T10:00:00.000Z',
      position: 3.5,
    });
    await createTask(t.app, projectId, owner, {
      title: 'Child',
      parent_id: root.id,
      status: 'done',
    });
    const weekly = await createTask(t.app, projectId, owner, {
      title: 'Weekly',
      due_at: '2026-03-23T08:00:00.000Z',
      recurrence: 'FREQ=WEEKLY;BYDAY=MO',
      timezone: 'Europe/Berlin',
    });
    const done = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${weekly.id}`,
      headers: owner.headers,
      payload: { status: 'done' },
    });
    expect(done.statusCode, done.body).toBe(200);
    for (const body of ['First comment', '=1+1']) {
      const posted = await t.app.inject({
        method: 'POST',
        url: `/api/v1/tasks/${root.id}/comments`,
        headers: owner.headers,
        payload: { body },
      });
      expect(posted.statusCode, posted.body).toBe(201);
    }

    const { download } = await exportProject(t.app, owner, projectId, 'json');
    const target = await createProject(t.app, owner, { name: 'JSON copy' });
    await addMember(t.app, target, owner, editor, 'editor');
    const job = await importCsv(t.app, owner, target, download.body, 'application/json');
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.result).toMatchObject({ format: 'docket_json', tasks: 4, comments: 2 });

    const original = await listAllTasks(t.app, owner, projectId);
    const copy = await listAllTasks(t.app, owner, target);
    expect(essences(copy)).toEqual(essences(original));
    const copiedRoot = copy.find((task) => task.title === "'=not a formula");
    const comments = await t.app.inject({
      url: `/api/v1/tasks/${String(copiedRoot?.id)}/comments`,
      headers: owner.headers,
    });
    expect(
      comments
        .json<{ items: { body: string }[] }>()
        .items.map((c) => c.body)
        .sort(),
    ).toEqual(['=1+1', 'First comment']);
  });

  it('when a JSON export has bad tasks or comments, then nothing is imported and each is reported', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const file = {
      format: 'docket.project-export',
      version: 1,
      members: [],
      tasks: [
        { id: 'a', title: 'Fine', status: 'todo' },
        { id: 'b', title: 42 },
        { id: 'c', title: 'Bad rule', due_at: '2026-05-01T09:00:00Z', recurrence: 'FREQ=SECONDLY' },
        { id: 'd', title: 'Stranger', assignee_id: newId() },
        'not a task',
      ],
      comments: [{ task_id: 'a', body: '' }],
    };
    const job = await importCsv(t.app, owner, projectId, JSON.stringify(file), 'application/json');
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('import_invalid');
    expect(rowErrors(job)).toEqual([
      { row: 2, column: 'title', code: 'missing' },
      { row: 2, column: 'title', code: 'invalid_type' },
      { row: 3, column: 'recurrence', code: 'invalid_recurrence' },
      { row: 4, column: 'assignee_id', code: 'not_a_member' },
      { row: 5, column: null, code: 'invalid_type' },
      { row: 1, column: 'comments.body', code: 'missing' },
    ]);
    expect(await countRows(tasks, projectId)).toBe(0);
  });

  it('when the JSON is not a Docket export, then 422 at once', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    for (const body of [
      '{"title":"x"}',
      '{not json',
      '{"format":"docket.project-export","version":2,"tasks":[]}',
      '"text"',
    ]) {
      const response = await startImport(t.app, owner, projectId, body, 'application/json');
      expect(response.statusCode, body).toBe(422);
      expect(response.json(), body).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: 'header', code: 'unknown_format' }],
      });
    }
    expect(await countRows(tasks, projectId)).toBe(0);
  });

  it('when the JSON holds an escaped NUL or lone surrogate, then 422 names where at once and no job is queued', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const body =
      '{"format":"docket.project-export","version":1,"members":[],' +
      '"tasks":[{"id":"a","title":"ok\\u0000"},{"id":"b","title":"fine","labels":["\\ud800"]}],' +
      '"comments":[{"task_id":"b","body":"x\\u0000"}]}';
    const response = await startImport(t.app, owner, projectId, body, 'application/json');
    expect(response.statusCode, response.body).toBe(422);
    expect(response.json().errors).toEqual(
      ['tasks.0.title', 'tasks.1.labels.0', 'comments.0.body'].map((field): unknown =>
        expect.objectContaining({ location: 'body', field, code: 'invalid_character' }),
      ),
    );
    expect(await t.app.db.select().from(importUploads)).not.toContainEqual(
      expect.objectContaining({ projectId }),
    );
  });
});

describe('all or nothing', () => {
  it('when one row among many is bad, then nothing is imported and the job reports that row', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const rows = Array.from(
      { length: 60 },
      (_, i) => `Task ${i},,${i === 41 ? 'sky-high' : 'low'}`,
    );
    const csv = ['title,description,priority', ...rows].join('\n');
    const eventsBefore = await countRows(events, projectId);

    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({
      code: 'import_invalid',
      row_error_count: 1,
      rows: [{ row: 43, column: 'priority', code: 'invalid_choice' }],
    });
    expect(job.error?.message).toContain('nothing was imported');
    expect(await countRows(tasks, projectId)).toBe(0);
    expect(await countRows(events, projectId)).toBe(eventsBefore);
  });

  it('when rows break several rules, then each is reported with its column and code', async () => {
    const { projectId, owner, viewer } = await createProjectWithRoles(t.app);
    const long = 'x'.repeat(256);
    const csv = [
      'id,parent_id,title,status,labels,due_at,position,assignee_email,recurrence',
      '1,,Fine,todo,,2026-05-01,,,FREQ=DAILY',
      `2,,${long},todo,,,,,`,
      '3,,,todo,,,,,',
      '4,,Bad status,later,,,,,',
      '5,,Bad date,todo,,tomorrow,,,',
      '6,,Bad position,todo,,,abc,,',
      `7,,Stranger,todo,,,,nobody@example.com,`,
      '1,,Duplicate id,todo,,,,,',
      `8,,Viewer may be assigned,todo,,,,${viewer.user.email.toUpperCase()},`,
      '9,,Bad labels,todo,"[1,2]",,,,',
    ].join('\r\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.status).toBe('failed');
    expect(rowErrors(job)).toEqual([
      { row: 3, column: 'title', code: 'too_long' },
      { row: 4, column: 'title', code: 'missing' },
      { row: 5, column: 'status', code: 'invalid_choice' },
      { row: 6, column: 'due_at', code: 'invalid_format' },
      { row: 7, column: 'position', code: 'invalid_value' },
      { row: 8, column: 'assignee_email', code: 'not_a_member' },
      { row: 9, column: 'id', code: 'duplicate' },
      { row: 11, column: 'labels', code: 'invalid_format' },
    ]);
    expect(await countRows(tasks, projectId)).toBe(0);
  });

  it('when a date is outside the years 1000 to 9999 in UTC, then the row is reported, not moved to 19xx or failed in the database', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const csv = [
      'title,due_at,remind_at',
      'Fine,1000-01-01,9999-12-31T23:59:59.999Z',
      'Year 0,0000-01-01,',
      'Year 50,0050-06-01T10:00:00Z,',
      'Past 9999 by its offset,,9999-12-31T23:00:00-05:00',
      'Before 1000 by its offset,1000-01-01T00:30:00+01:00,',
    ].join('\r\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.status).toBe('failed');
    expect(job.error?.rows?.map(({ row, column, code }) => ({ row, column, code }))).toEqual([
      { row: 3, column: 'due_at', code: 'invalid_format' },
      { row: 4, column: 'due_at', code: 'invalid_format' },
      { row: 5, column: 'remind_at', code: 'invalid_format' },
      { row: 6, column: 'due_at', code: 'invalid_format' },
    ]);
    expect(await countRows(tasks, projectId)).toBe(0);
  });

  it('when a parent_id names no row of the file or the parents loop, then those rows are reported', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const csv = ['id,parent_id,title', 'a,b,A', 'b,a,B', 'c,zzz,C', 'd,,D'].join('\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.error?.rows?.map(({ row, code }) => ({ row, code }))).toEqual([
      { row: 2, code: 'cycle' },
      { row: 3, code: 'cycle' },
      { row: 4, code: 'unknown_parent' },
    ]);
    expect(await countRows(tasks, projectId)).toBe(0);
  });

  it('when a recurrence or timezone breaks the task rules, then those rows are reported with the API codes', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const csv = [
      'title,due_at,recurrence,timezone',
      'Fine,2026-05-01T09:00:00Z,rrule:freq=weekly,europe/berlin',
      'No anchor,,FREQ=DAILY,',
      'Hourly,2026-05-01T09:00:00Z,FREQ=HOURLY,',
      'Never,2026-05-01T09:00:00Z,FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30,',
      'Offset,2026-05-01T09:00:00Z,,+01:00',
      'Unknown zone,2026-05-01T09:00:00Z,FREQ=DAILY,Mars/Olympus',
      `Long rule,2026-05-01T09:00:00Z,${'FREQ=DAILY;'.repeat(50)},`,
    ].join('\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.status).toBe('failed');
    expect(rowErrors(job)).toEqual([
      { row: 3, column: 'recurrence', code: 'invalid_recurrence' },
      { row: 4, column: 'recurrence', code: 'invalid_recurrence' },
      { row: 5, column: 'recurrence', code: 'invalid_recurrence' },
      { row: 6, column: 'timezone', code: 'invalid_timezone' },
      { row: 7, column: 'timezone', code: 'invalid_timezone' },
      { row: 8, column: 'recurrence', code: 'too_long' },
    ]);
    expect(await countRows(tasks, projectId)).toBe(0);
  });

  it('when rows share a series_id the file has no row for, then they share one new series; a recurring row without one starts its own', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const outside = newId();
    const csv = [
      'id,title,due_at,recurrence,timezone,series_id',
      `a,Old,2026-05-04T07:00:00Z,,Europe/Berlin,${outside}`,
      `b,New,2026-05-11T07:00:00Z,FREQ=WEEKLY,Europe/Berlin,${outside}`,
      'c,Alone,2026-05-11T07:00:00Z,FREQ=MONTHLY,,',
      'd,Plain,,,,',
    ].join('\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const list = await listAllTasks(t.app, owner, projectId);
    const byTitle = new Map(list.map((task) => [task.title, task]));
    const series = byTitle.get('Old')?.series_id;
    expect(series).toMatch(/^[0-9a-f-]{36}$/);
    expect(series).not.toBe(outside);
    expect(byTitle.get('New')?.series_id).toBe(series);
    expect(byTitle.get('Alone')?.series_id).toBe(byTitle.get('Alone')?.id);
    expect(byTitle.get('Plain')?.series_id).toBeNull();
  });

  it('when imported tasks have reminders, then past ones are not sent again and later ones are fired by the sweeper once due', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const csv = ['title,remind_at', `Later,${later}`, `Past,${past}`].join('\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const list = await listAllTasks(t.app, owner, projectId);
    const idOf = (title: string) => list.find((task) => task.title === title)?.id as string;
    // The hour passes.
    await t.app.db
      .update(tasks)
      .set({ remindAt: new Date(Date.now() - 1000) })
      .where(eq(tasks.id, idOf('Later')));
    await t.app.services.jobs.run(reminderSweepQueue, {});
    const reminders = async (id: string) =>
      (await t.app.db.select().from(events).where(eq(events.entityId, id))).filter(
        (event) => event.type === 'task.reminder',
      );
    expect(await reminders(idOf('Later'))).toHaveLength(1);
    expect(await reminders(idOf('Past'))).toHaveLength(0);
  });

  it('when a quote is never closed, then the job reports malformed_csv and imports nothing', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const job = await importCsv(t.app, owner, projectId, 'title,description\nOne,"never closed\n');
    expect(job.status).toBe('failed');
    expect(job.error?.rows?.[0]).toMatchObject({ code: 'malformed_csv', column: null });
    expect(await countRows(tasks, projectId)).toBe(0);
  });

  it('when more rows fail than the report holds, then it lists the first 100 and counts them all', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const csv = ['title,status', ...Array.from({ length: 150 }, (_, i) => `T${i},nope`)].join('\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(job.error?.rows).toHaveLength(100);
    expect(job.error?.row_error_count).toBe(150);
  });
});

describe('Todoist', () => {
  it("when Todoist's template export is imported, then priorities are inverted, indents become subtasks and notes comments", async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const job = await importCsv(t.app, owner, projectId, TODOIST);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.result).toEqual({
      format: 'todoist_csv',
      tasks: 5,
      comments: 1,
      // The view setting and the note above every task.
      skipped_rows: 2,
      // "every monday"
      ignored_dates: 1,
    });
    const list = await listAllTasks(t.app, owner, projectId);
    const byTitle = new Map(list.map((task) => [task.title, task]));
    expect([...byTitle.keys()]).toEqual([
      'Plan the trip',
      'Book flights',
      'Compare prices',
      'Book hotel',
      'Buy milk',
    ]);
    const plan = byTitle.get('Plan the trip');
    const flights = byTitle.get('Book flights');
    expect(plan).toMatchObject({
      priority: 'urgent',
      labels: ['travel'],
      parent_id: null,
      description: 'Flights and hotel',
      due_at: '2026-12-20T00:00:00.000Z',
    });
    expect(flights).toMatchObject({
      priority: 'high',
      parent_id: plan?.id,
      description: 'Window seat, if possible',
      // 09:30 in Berlin, in winter (UTC+1).
      due_at: '2026-12-10T08:30:00.000Z',
      assignee_id: null,
    });
    expect(byTitle.get('Compare prices')).toMatchObject({
      priority: 'none',
      parent_id: flights?.id,
    });
    expect(byTitle.get('Book hotel')).toMatchObject({
      priority: 'medium',
      parent_id: plan?.id,
      due_at: null,
    });
    expect(byTitle.get('Buy milk')).toMatchObject({ labels: ['Errands', 'shop'], parent_id: null });

    const comments = await t.app.inject({
      url: `/api/v1/tasks/${String(byTitle.get('Compare prices')?.id)}/comments`,
      headers: owner.headers,
    });
    expect(comments.json<{ items: { body: string }[] }>().items.map((c) => c.body)).toEqual([
      'Check the budget first, then "the usual" sites',
    ]);
  });

  it('when an INDENT skips a level or a TYPE or PRIORITY is unknown, then those rows are reported', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const csv = [
      'TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE',
      'task,Top,,4,1,,,,,',
      'task,Too deep,,1,3,,,,,',
      'task,Odd priority,,7,1,,,,,',
      'reminder,What is this,,,,,,,,',
    ].join('\n');
    const job = await importCsv(t.app, owner, projectId, csv);
    expect(rowErrors(job)).toEqual([
      { row: 3, column: 'INDENT', code: 'invalid_indent' },
      { row: 4, column: 'PRIORITY', code: 'invalid_choice' },
      { row: 5, column: 'TYPE', code: 'invalid_choice' },
    ]);
    expect(await countRows(tasks, projectId)).toBe(0);
  });
});

describe('the upload', () => {
  it('when the caller is a viewer, then 403; an outsider 404; an editor 202', async () => {
    const { projectId, editor, viewer, outsider } = await createProjectWithRoles(t.app);
    const csv = 'title\nOne\n';
    const refused = await startImport(t.app, viewer, projectId, csv);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'forbidden' });
    const hidden = await startImport(t.app, outsider, projectId, csv);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json()).toMatchObject({ code: 'project_not_found' });
    const accepted = await startImport(t.app, editor, projectId, csv);
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json()).toMatchObject({ job: { kind: 'import', status: 'queued' } });
    expect(accepted.headers.location).toMatch(/^\/api\/v1\/jobs\//);
  });

  it('when the body is larger than IMPORT_MAX_BYTES, then 413 and nothing is stored', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const big = `title\n${'x'.repeat(200)}\n`.repeat(Math.ceil(IMPORT_MAX_BYTES / 200));
    const response = await startImport(t.app, owner, projectId, big);
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'payload_too_large' });
    expect(response.json<{ detail: string }>().detail).toContain('64 KiB');
    const uploads = await t.app.db
      .select()
      .from(importUploads)
      .where(eq(importUploads.projectId, projectId));
    expect(uploads).toEqual([]);
  });

  it('when the credential is bad, the project id malformed or unknown, or the key too long, then a problem and no upload', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const csv = 'title\r\nA\r\n';
    const upload = (url: string, headers: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'text/csv', ...headers },
        payload: csv,
      });
    const url = `/api/v1/projects/${projectId}/imports`;
    for (const [name, headers, code] of await refusedCredentials(t.app, owner)) {
      expectProblem(await upload(url, headers), 401, code, name);
    }
    expectProblem(
      await upload('/api/v1/projects/not-a-uuid/imports', owner.headers),
      422,
      'validation_failed',
      'malformed id',
    );
    expectProblem(
      await upload(`/api/v1/projects/${newId()}/imports`, owner.headers),
      404,
      'project_not_found',
      'unknown project',
    );
    expectProblem(
      await upload(url, { ...owner.headers, 'idempotency-key': 'k'.repeat(256) }),
      422,
      'validation_failed',
      'long key',
    );
    const uploads = await t.app.db
      .select()
      .from(importUploads)
      .where(eq(importUploads.projectId, projectId));
    expect(uploads).toEqual([]);
  });

  it('when the body is neither text/csv nor application/json, then 415', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    for (const type of ['text/plain', 'application/octet-stream', 'application/xml']) {
      const response = await startImport(t.app, owner, projectId, '{"title":"x"}', type);
      expect(response.statusCode, type).toBe(415);
      expect(response.json()).toMatchObject({ code: 'unsupported_media_type' });
    }
  });

  it('when the header names neither format, or the body is empty, then 422 at once', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const unknown = await startImport(t.app, owner, projectId, 'name,when\nA,today\n');
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'header', code: 'unknown_format' }],
    });
    const empty = await startImport(t.app, owner, projectId, '');
    expect(empty.statusCode).toBe(422);
    const broken = await startImport(t.app, owner, projectId, '"title\n');
    expect(broken.statusCode).toBe(422);
    expect(broken.json()).toMatchObject({ errors: [{ code: 'malformed_csv' }] });
  });

  it('when the membership is lost before the job runs, then it fails and nothing is imported', async () => {
    const { projectId, owner, editor } = await createProjectWithRoles(t.app);
    // Queued by hand and run directly, so the demotion surely comes first.
    const job = await t.app.services.userJobs.create(t.app.db, editor.user.id, 'import');
    const uploadId = newId();
    await t.app.db.insert(importUploads).values({
      id: uploadId,
      jobId: job.id,
      userId: editor.user.id,
      projectId,
      format: 'docket_csv',
      content: 'title\nOne\n',
    });
    const demoted = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${projectId}/members/${editor.user.id}`,
      headers: owner.headers,
      payload: { role: 'viewer' },
    });
    expect(demoted.statusCode).toBe(200);
    await t.app.services.jobs.run(importQueue, { job_id: job.id, upload_id: uploadId });
    const followed = await waitForJob(t.app, editor, job.id);
    expect(followed).toMatchObject({ status: 'failed', error: { code: 'forbidden' } });
    expect(await countRows(tasks, projectId)).toBe(0);
    const uploads = await t.app.db
      .select()
      .from(importUploads)
      .where(eq(importUploads.id, uploadId));
    expect(uploads).toEqual([]);
  });
});
