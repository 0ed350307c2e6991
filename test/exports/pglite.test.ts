import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createProject, createProjectWithRoles, createTask } from '../helpers/projects.js';
import { exportProject, importCsv, listAllTasks } from './helpers.js';

// The embedded database is the default: exports (bytea chunks) and imports (one transaction on
// its single connection) must work there too.
const t = useTestApp({ config: { databaseUrl: null, jobPollIntervalMs: 500 } });

describe('exports and imports on PGlite', () => {
  it('when a project is exported as JSON and CSV and the CSV imported, then the files and tasks match', async () => {
    const { projectId, owner } = await createProjectWithRoles(t.app);
    const parent = await createTask(t.app, projectId, owner, {
      title: 'Ünïcödé 😀',
      labels: ['x'],
    });
    await createTask(t.app, projectId, owner, { title: '@mention', parent_id: parent.id });

    const json = await exportProject(t.app, owner, projectId, 'json');
    expect(
      json.download.json<{ tasks: { title: string }[] }>().tasks.map((task) => task.title),
    ).toEqual(['Ünïcödé 😀', '@mention']);
    const csv = await exportProject(t.app, owner, projectId, 'csv');
    expect(Number(csv.download.headers['content-length'])).toBe(csv.download.rawPayload.length);

    const target = await createProject(t.app, owner, { name: 'Copy' });
    const job = await importCsv(t.app, owner, target, csv.download.body);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const copy = await listAllTasks(t.app, owner, target);
    expect(copy.map((task) => [task.title, task.labels, task.parent_id === null])).toEqual([
      ['Ünïcödé 😀', ['x'], true],
      ['@mention', [], false],
    ]);
  });
});
