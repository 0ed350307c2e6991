import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { expectProblem, refusedCredentials } from '../helpers/refusals.js';

const t = useTestApp();

function getJob(id: string, user?: TestUser, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'GET',
    url: `/api/v1/jobs/${id}`,
    headers: { ...(user?.headers ?? {}), ...headers },
  });
}

describe('GET /jobs/{id}', () => {
  it('when the owner follows a job, then status, progress and outcome show as it moves', async () => {
    const owner = await createUser(t.app);
    const service = t.app.services.userJobs;
    const job = await service.create(t.app.db, owner.user.id, 'export');

    const queued = await getJob(job.id, owner);
    expect(queued.statusCode).toBe(200);
    expect(queued.json()).toEqual({
      id: job.id,
      kind: 'export',
      status: 'queued',
      progress: 0,
      created_at: job.createdAt.toISOString(),
      updated_at: job.updatedAt.toISOString(),
      finished_at: null,
    });
    const etag = queued.headers.etag as string;
    expect((await getJob(job.id, owner, { 'if-none-match': etag })).statusCode).toBe(304);

    await service.update(job.id, { status: 'running', progress: 40 });
    const running = await getJob(job.id, owner, { 'if-none-match': etag });
    expect(running.statusCode).toBe(200);
    expect(running.json()).toMatchObject({ status: 'running', progress: 40 });
    expect(running.headers.etag).not.toBe(etag);

    await service.update(job.id, { status: 'succeeded', result: { rows: 12 } });
    const done = (await getJob(job.id, owner)).json();
    expect(done).toMatchObject({ status: 'succeeded', progress: 100, result: { rows: 12 } });
    expect(done.finished_at).toEqual(expect.any(String));
    expect(done).not.toHaveProperty('error');
  });

  it('when a job fails, then its error is shown and no result', async () => {
    const owner = await createUser(t.app);
    const service = t.app.services.userJobs;
    const job = await service.create(t.app.db, owner.user.id, 'import');
    await service.update(job.id, {
      status: 'failed',
      error: { code: 'import_invalid', message: 'Row 3 has no title.' },
    });
    const body = (await getJob(job.id, owner)).json();
    expect(body).toMatchObject({
      status: 'failed',
      error: { code: 'import_invalid', message: 'Row 3 has no title.' },
    });
    expect(body).not.toHaveProperty('result');
  });

  it("when someone else asks for a user's job, then it is 404 job_not_found, as for an unknown id", async () => {
    const owner = await createUser(t.app);
    const stranger = await createUser(t.app);
    const job = await t.app.services.userJobs.create(t.app.db, owner.user.id, 'export');
    const foreign = await getJob(job.id, stranger);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'job_not_found' });
    const unknown = await getJob('01938a4e-0000-7000-8000-000000000000', stranger);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'job_not_found' });
  });

  it('when the caller is not authenticated or the id is not a uuid, then 401 or 422', async () => {
    const owner = await createUser(t.app);
    const job = await t.app.services.userJobs.create(t.app.db, owner.user.id, 'export');
    const anonymous = await getJob(job.id);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toContain('Bearer');
    expect((await getJob('not-a-uuid', owner)).statusCode).toBe(422);
    for (const [name, headers, code] of await refusedCredentials(t.app, owner)) {
      expectProblem(await getJob(job.id, undefined, headers), 401, code, name);
    }
  });

  it('when progress is out of range, then the service refuses it', async () => {
    const owner = await createUser(t.app);
    const service = t.app.services.userJobs;
    const job = await service.create(t.app.db, owner.user.id, 'export');
    await expect(service.update(job.id, { progress: 101 })).rejects.toThrow(RangeError);
  });
});
