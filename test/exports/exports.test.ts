import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { exportChunks, exportFiles, tasks, userJobs } from '../../src/db/schema/index.js';
import { exportQueue } from '../../src/jobs/exports.js';
import { maintenanceQueue } from '../../src/jobs/maintenance.js';
import { newId } from '../../src/lib/ids.js';
import { CHUNK_BYTES } from '../../src/modules/exports/chunk-writer.js';
import { TASK_CSV_COLUMNS } from '../../src/modules/exports/task-csv.js';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { createProjectWithRoles, createTask } from '../helpers/projects.js';
import { expectBodiesRefused, expectProblem, refusedCredentials } from '../helpers/refusals.js';
import { exportProject, startExport, waitForJob } from './helpers.js';

const t = useTestApp({ config: { jobPollIntervalMs: 500 } });

describe('POST /projects/{id}/exports (json)', () => {
  it('when a member exports a project as JSON, then the file holds the project, members, tasks and comments as their GETs show them', async () => {
    const { projectId, owner, editor } = await createProjectWithRoles(t.app);
    const parent = await createTask(t.app, projectId, owner, {
      title: 'Parent',
      labels: ['a', 'b'],
      assignee_id: editor.user.id,
      due_at: '2026-12-24T10:00:00.000Z',
    });
    const child = await createTask(t.app, projectId, owner, {
      title: 'Child',
      parent_id: parent.id,
    });
    const comment = await t.app.inject({
      method: 'POST',
      url: `/api/v1/tasks/${child.id}/comments`,
      headers: owner.headers,
      payload: { body: 'A comment' },
    });
    expect(comment.statusCode).toBe(201);

    const { job, download } = await exportProject(t.app, owner, projectId, 'json');
    expect(job).toMatchObject({ kind: 'export', status: 'succeeded', progress: 100 });
    expect(job.result).toMatchObject({ format: 'json', tasks: 2, comments: 1 });
    expect(download.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(download.headers['content-disposition']).toMatch(
      /^attachment; filename="docket-project-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(Number(download.headers['content-length'])).toBe(download.rawPayload.length);
    expect(job.result?.size).toBe(download.rawPayload.length);

    const file = download.json<Record<string, unknown[] & Record<string, unknown>>>();
    expect(file).toMatchObject({ format: 'docket.project-export', version: 1 });
    const project = (
      await t.app.inject({ url: `/api/v1/projects/${projectId}`, headers: owner.headers })
    ).json<Record<string, unknown>>();
    const { role: _role, ...projectShape } = project;
    expect(file.project).toEqual(projectShape);
    expect((file.members as { user_id: string }[]).map((m) => m.user_id).sort()).toHaveLength(4);
    const parentNow = (
      await t.app.inject({ url: `/api/v1/tasks/${parent.id}`, headers: owner.headers })
    ).json();
    const childNow = (
      await t.app.inject({ url: `/api/v1/tasks/${child.id}`, headers: owner.headers })
    ).json();
    expect(file.tasks).toEqual([parentNow, childNow]);
    expect(file.comments).toEqual([comment.json()]);
  });

  it('when a project has more than one page of tasks, then every task is exported once and progress is reported as it goes', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const total = 2_500;
    const base = Date.UTC(2026, 0, 1);
    await t.app.db.insert(tasks).values(
      Array.from({ length: total }, (_, i) => ({
        id: newId(),
        projectId,
        title: `Task ${i}`,
        description: 'd'.repeat(400),
        position: i,
        createdAt: new Date(base + Math.floor(i / 3) * 1000),
      })),
    );
    const { job, download } = await exportProject(t.app, owner, projectId, 'json');
    const ids = download.json<{ tasks: { id: string }[] }>().tasks.map((task) => task.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    // More than one stored chunk, read back in order.
    expect(Number(job.result?.size)).toBeGreaterThan(CHUNK_BYTES);
    expect(download.rawPayload.length).toBe(job.result?.size);
    // Created, running, at least two progress steps per pass, succeeded.
    const [row] = await t.app.db.select().from(userJobs).where(eq(userJobs.id, job.id));
    expect(row?.version).toBeGreaterThanOrEqual(6);
  });
});

describe('consistency', () => {
  it('when tasks change while an export runs, then the file shows the project as it was when the reads began', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const base = Date.UTC(2026, 0, 1);
    const seeded = Array.from({ length: 1_200 }, (_, i) => ({
      id: newId(),
      projectId,
      title: `Task ${i}`,
      createdAt: new Date(base + i * 1000),
    }));
    await t.app.db.insert(tasks).values(seeded);
    const lastId = seeded[seeded.length - 1]?.id ?? '';
    const job = await t.app.services.userJobs.create(t.app.db, owner.user.id, 'export');

    // After the first page is written (its progress report), one task is added and one not yet
    // read is deleted, from another connection.
    const userJobsService = t.app.services.userJobs;
    const update = userJobsService.update.bind(userJobsService);
    let changed = false;
    userJobsService.update = async (id, change, tx) => {
      if (!changed && change.status === undefined && change.progress !== undefined) {
        changed = true;
        await createTask(t.app, projectId, owner, { title: 'Added meanwhile' });
        await t.app.db.delete(tasks).where(eq(tasks.id, lastId));
      }
      return update(id, change, tx);
    };
    try {
      await t.app.services.jobs.run(exportQueue, {
        job_id: job.id,
        user_id: owner.user.id,
        project_id: projectId,
        format: 'json',
      });
    } finally {
      userJobsService.update = update;
    }
    expect(changed).toBe(true);
    const done = await waitForJob(t.app, owner, job.id);
    const download = await t.app.inject({
      url: String(done.result?.download_url),
      headers: owner.headers,
    });
    const exported = download.json<{ tasks: { id: string; title: string }[] }>().tasks;
    expect(exported.map((task) => task.id)).toEqual(seeded.map((task) => task.id));
  });
});

describe('POST /projects/{id}/exports (csv)', () => {
  it('when a project is exported as CSV, then it has the documented columns, RFC 4180 quoting and formula guards', async () => {
    const { projectId, owner, editor } = await createProjectWithRoles(t.app);
    await createTask(t.app, projectId, owner, {
      title: '=HYPERLINK("http://evil.example","click")',
      description: 'Line one, with a comma\nline "two"',
      labels: ['x,y', '@home'],
      priority: 'high',
      status: 'done',
      assignee_id: editor.user.id,
      position: -2.5,
    });
    await createTask(t.app, projectId, owner, { title: '-1+2', description: "'+already quoted" });

    const { download } = await exportProject(t.app, owner, projectId, 'csv');
    expect(download.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(download.headers['content-disposition']).toMatch(/\.csv"$/);
    const text = download.body;
    expect(text.split('\r\n')[0]).toBe(TASK_CSV_COLUMNS.join(','));
    // Columns are only ever appended: the recurrence columns of issue 12 come last.
    expect(text.split('\r\n')[0]).toMatch(/,updated_at,recurrence,timezone,series_id$/);
    const records = parse<Record<string, string>>(text, { columns: true });
    expect(records).toHaveLength(2);
    const [first, second] = records;
    expect(first).toMatchObject({
      title: `'=HYPERLINK("http://evil.example","click")`,
      description: 'Line one, with a comma\nline "two"',
      labels: '["x,y","@home"]',
      priority: 'high',
      status: 'done',
      assignee_email: editor.user.email,
      position: '-2.5',
    });
    expect(first?.completed_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(second).toMatchObject({ title: "'-1+2", description: "''+already quoted" });
    // RFC 4180: the quote inside a quoted field is doubled.
    expect(text).toContain('"Line one, with a comma\nline ""two"""');
  });

  it('when the project is empty, then the CSV is the header row alone', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const { download, job } = await exportProject(t.app, owner, projectId, 'csv');
    expect(download.body).toBe(`${TASK_CSV_COLUMNS.join(',')}\r\n`);
    expect(job.result).toMatchObject({ tasks: 0 });
  });
});

describe('retries', () => {
  it('when the same Idempotency-Key is sent twice, then the first job is answered again and only one is queued', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/exports`,
        headers: { ...owner.headers, 'idempotency-key': 'export-once' },
        payload: { format: 'csv' },
      });
    const first = await send();
    const second = await send();
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.headers['idempotency-replayed']).toBe('true');
    const id = first.json<{ job: { id: string } }>().job.id;
    expect(second.json<{ job: { id: string } }>().job.id).toBe(id);
    const jobs = await t.app.db.select().from(userJobs).where(eq(userJobs.userId, owner.user.id));
    expect(jobs.map((job) => job.id)).toEqual([id]);
    await waitForJob(t.app, owner, id);
  });
});

describe('who may export and download', () => {
  it('when a viewer exports, then it is accepted; an outsider gets 404 and no token 401', async () => {
    const { projectId, viewer, outsider } = await createProjectWithRoles(t.app);
    const accepted = await startExport(t.app, viewer, projectId, 'csv');
    expect(accepted.statusCode).toBe(202);
    const body = accepted.json<{ job: { id: string; kind: string; status: string } }>();
    expect(body.job).toMatchObject({ kind: 'export', status: 'queued' });
    expect(accepted.headers.location).toBe(`/api/v1/jobs/${body.job.id}`);
    await waitForJob(t.app, viewer, body.job.id);

    const foreign = await startExport(t.app, outsider, projectId, 'csv');
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'project_not_found' });
    const anonymous = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/exports`,
      payload: { format: 'csv' },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('when the format is not json or csv, or a field is unknown, then 422 and no job', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const before = await t.app.db.select({ n: sql<number>`count(*)::int` }).from(userJobs);
    for (const payload of [{ format: 'xml' }, {}, { format: 'csv', extra: 1 }]) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/exports`,
        headers: owner.headers,
        payload,
      });
      expect(response.statusCode).toBe(422);
    }
    const after = await t.app.db.select({ n: sql<number>`count(*)::int` }).from(userJobs);
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('when the body is malformed, not JSON or over 1 MiB, the credential is bad, or an id is malformed, then a problem and no job', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const count = async () =>
      (await t.app.db.select({ n: sql<number>`count(*)::int` }).from(userJobs))[0]?.n;
    const before = await count();
    const url = `/api/v1/projects/${projectId}/exports`;
    await expectBodiesRefused(t.app, 'POST', url, owner.headers);
    const download = `/api/v1/exports/${newId()}/download`;
    for (const [name, headers, code] of await refusedCredentials(t.app, owner)) {
      const started = await t.app.inject({
        method: 'POST',
        url,
        headers,
        payload: { format: 'csv' },
      });
      expectProblem(started, 401, code, `export with ${name}`);
      expectProblem(
        await t.app.inject({ url: download, headers }),
        401,
        code,
        `download with ${name}`,
      );
    }
    for (const [method, path] of [
      ['POST', '/api/v1/projects/not-a-uuid/exports'],
      ['GET', '/api/v1/exports/not-a-uuid/download'],
    ] as const) {
      const response = await t.app.inject({
        method,
        url: path,
        headers: owner.headers,
        ...(method === 'POST' ? { payload: { format: 'csv' } } : {}),
      });
      expectProblem(response, 422, 'validation_failed', path);
      expect(response.json().errors).toEqual([
        expect.objectContaining({ location: 'path', field: 'id', code: 'invalid_format' }),
      ]);
    }
    const longKey = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...owner.headers, 'idempotency-key': 'k'.repeat(256) },
      payload: { format: 'csv' },
    });
    expectProblem(longKey, 422, 'validation_failed', 'long key');
    expect(await count()).toBe(before);
  });

  it('when anyone but its owner asks for an export, then 404 export_not_found, as for an unknown id', async () => {
    const { projectId, owner, admin } = await createProjectWithRoles(t.app);
    await createTask(t.app, projectId, owner, { title: 'Secret' });
    const { url } = await exportProject(t.app, owner, projectId, 'csv');
    const stranger = await createUser(t.app);
    for (const user of [admin, stranger]) {
      const response = await t.app.inject({ url, headers: user.headers });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'export_not_found' });
      expect(response.body).not.toContain('Secret');
    }
    const unknown = await t.app.inject({
      url: `/api/v1/exports/${newId()}/download`,
      headers: owner.headers,
    });
    expect(unknown.statusCode).toBe(404);
    expect((await t.app.inject({ url })).statusCode).toBe(401);
    const bad = await t.app.inject({
      url: '/api/v1/exports/nope/download',
      headers: owner.headers,
    });
    expect(bad.statusCode).toBe(422);
  });

  it('when its owner has left the project, then the export is 404 for them', async () => {
    const { projectId, owner, editor } = await createProjectWithRoles(t.app);
    const { url } = await exportProject(t.app, editor, projectId, 'csv');
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}/members/${editor.user.id}`,
      headers: owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    const response = await t.app.inject({ url, headers: editor.headers });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'export_not_found' });
  });

  it('when the member leaves before the job runs, then the job fails with project_not_found and no file is kept', async () => {
    const { projectId, owner, editor } = await createProjectWithRoles(t.app);
    // Queued by hand and run directly, so the removal surely comes first.
    const job = await t.app.services.userJobs.create(t.app.db, editor.user.id, 'export');
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}/members/${editor.user.id}`,
      headers: owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    await t.app.services.jobs.run(exportQueue, {
      job_id: job.id,
      user_id: editor.user.id,
      project_id: projectId,
      format: 'json',
    });
    const followed = await waitForJob(t.app, editor, job.id);
    expect(followed).toMatchObject({ status: 'failed', error: { code: 'project_not_found' } });
    const files = await t.app.db.select().from(exportFiles).where(eq(exportFiles.jobId, job.id));
    expect(files).toEqual([]);
  });
});

describe('expiry', () => {
  it('when an export is past its 7 days, then it is 410, and the maintenance job purges it with its chunks (then 404)', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    await createTask(t.app, projectId, owner);
    const { job, url } = await exportProject(t.app, owner, projectId, 'json');
    const exportId = String(job.result?.export_id);
    const [file] = await t.app.db.select().from(exportFiles).where(eq(exportFiles.id, exportId));
    const week = 7 * 86_400_000;
    expect(file?.expiresAt.getTime()).toBeGreaterThan(Date.now() + week - 60_000);
    expect(file?.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + week);

    // Not yet due: the maintenance job leaves it alone.
    await t.app.services.jobs.run(maintenanceQueue, {});
    expect((await t.app.inject({ url, headers: owner.headers })).statusCode).toBe(200);

    await t.app.db
      .update(exportFiles)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(exportFiles.id, exportId));
    const expired = await t.app.inject({ url, headers: owner.headers });
    expect(expired.statusCode).toBe(410);
    expect(expired.json()).toMatchObject({ code: 'export_expired' });

    const counts = await t.app.services.jobs.run(maintenanceQueue, {});
    expect(counts).toMatchObject({ exports: 1 });
    const chunks = await t.app.db
      .select()
      .from(exportChunks)
      .where(eq(exportChunks.fileId, exportId));
    expect(chunks).toEqual([]);
    expect((await t.app.inject({ url, headers: owner.headers })).statusCode).toBe(404);
  });
});
