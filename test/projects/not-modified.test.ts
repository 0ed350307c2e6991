import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { createProject } from '../helpers/projects.js';

const t = useTestApp();

async function conditionalGet(url: string, user: TestUser) {
  const first = await t.app.inject({ url, headers: user.headers });
  expect(first.statusCode).toBe(200);
  const etag = first.headers.etag as string;
  expect(etag).toBeTruthy();
  return t.app.inject({ url, headers: { ...user.headers, 'if-none-match': etag } });
}

describe('304 answers of single resources', () => {
  it('when a project is unchanged, then 304 carries no body and no Content-Length', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const response = await conditionalGet(`/api/v1/projects/${projectId}`, owner);
    expect(response.statusCode).toBe(304);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.body).toBe('');
  });

  it('when a job is unchanged, then 304 carries no body and no Content-Length', async () => {
    const owner = await createUser(t.app);
    const job = await t.app.services.userJobs.create(t.app.db, owner.user.id, 'export');
    const response = await conditionalGet(`/api/v1/jobs/${job.id}`, owner);
    expect(response.statusCode).toBe(304);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.body).toBe('');
  });

  it('when the ETag is stale or the caller is not a member, then there is no 304', async () => {
    const owner = await createUser(t.app);
    const outsider = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const stale = await t.app.inject({
      url: `/api/v1/projects/${projectId}`,
      headers: { ...owner.headers, 'if-none-match': '"0"' },
    });
    expect(stale.statusCode).toBe(200);
    const hidden = await t.app.inject({
      url: `/api/v1/projects/${projectId}`,
      headers: { ...outsider.headers, 'if-none-match': stale.headers.etag as string },
    });
    expect(hidden.statusCode).toBe(404);
  });
});
