import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { TestUser } from '../helpers/factories.js';

export interface JobBody {
  id: string;
  kind: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  progress: number;
  result?: Record<string, unknown>;
  error?: {
    code: string;
    message: string;
    rows?: { row: number; column: string | null; code: string; message: string }[];
    row_error_count?: number;
  };
}

/** Polls `GET /jobs/{id}` until the job has finished, one way or the other. */
export async function waitForJob(app: App, user: TestUser, id: string): Promise<JobBody> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await app.inject({ url: `/api/v1/jobs/${id}`, headers: user.headers });
    expect(response.statusCode, response.body).toBe(200);
    const job = response.json<JobBody>();
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await sleep(100);
  }
}

export function startExport(app: App, user: TestUser, projectId: string, format: string) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/projects/${projectId}/exports`,
    headers: user.headers,
    payload: { format },
  });
}

/** Exports a project and returns the finished job and the downloaded file. */
export async function exportProject(app: App, user: TestUser, projectId: string, format: string) {
  const started = await startExport(app, user, projectId, format);
  expect(started.statusCode, started.body).toBe(202);
  const job = await waitForJob(app, user, started.json<{ job: { id: string } }>().job.id);
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  const url = String(job.result?.download_url);
  const download = await app.inject({ url, headers: user.headers });
  expect(download.statusCode, download.body).toBe(200);
  return { job, download, url };
}

export function startImport(
  app: App,
  user: TestUser,
  projectId: string,
  csv: string,
  contentType = 'text/csv',
) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/projects/${projectId}/imports`,
    headers: { ...user.headers, 'content-type': contentType },
    payload: csv,
  });
}

/** Imports a CSV file and returns the finished job. */
export async function importCsv(
  app: App,
  user: TestUser,
  projectId: string,
  csv: string,
  contentType = 'text/csv',
): Promise<JobBody> {
  const started = await startImport(app, user, projectId, csv, contentType);
  expect(started.statusCode, started.body).toBe(202);
  return waitForJob(app, user, started.json<{ job: { id: string } }>().job.id);
}

export async function listAllTasks(app: App, user: TestUser, projectId: string) {
  const tasks: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const response = await app.inject({
      url: `/api/v1/projects/${projectId}/tasks?limit=100&sort=position${query}`,
      headers: user.headers,
    });
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json<{ items: Record<string, unknown>[]; next_cursor: string | null }>();
    tasks.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return tasks;
}
