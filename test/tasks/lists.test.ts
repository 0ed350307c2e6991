import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';

const t = useTestApp();

interface TaskItem {
  id: string;
  title: string;
  due_at: string | null;
  priority: string;
  position: number;
  created_at: string;
}
interface TaskPage {
  items: TaskItem[];
  next_cursor: string | null;
}

async function page(url: string, headers: Record<string, string>): Promise<TaskPage> {
  const response = await t.app.inject({ url, headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<TaskPage>();
}

async function walk(
  url: string,
  headers: Record<string, string>,
  between?: () => Promise<void>,
): Promise<TaskItem[][]> {
  const pages: TaskItem[][] = [];
  let cursor: string | null = null;
  do {
    const separator = url.includes('?') ? '&' : '?';
    const current = await page(cursor ? `${url}${separator}cursor=${cursor}` : url, headers);
    pages.push(current.items);
    cursor = current.next_cursor;
    await between?.();
  } while (cursor !== null && pages.length < 100);
  return pages;
}

describe('task lists', () => {
  it('when 120 tasks are paged by 50, then 3 pages hold each task once, even while tasks are added', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const created = new Set<string>();
    for (let i = 0; i < 120; i += 1)
      created.add((await createTask(t.app, projectId, owner, { title: `task ${i}` })).id);
    for (const sort of ['created_at', '-created_at', 'position']) {
      let added = 0;
      const pages = await walk(
        `/api/v1/projects/${projectId}/tasks?limit=50&sort=${sort}`,
        owner.headers,
        async () => {
          // New tasks land while paging; the original ones must neither repeat nor go missing.
          if (sort === '-created_at') {
            await createTask(t.app, projectId, owner, { title: `late ${added}` });
            added += 1;
          }
        },
      );
      const ids = pages.flat().map((task) => task.id);
      expect(new Set(ids).size, sort).toBe(ids.length);
      for (const id of created) expect(ids, sort).toContain(id);
      if (sort !== 'position')
        expect(pages.map((items) => items.length).slice(0, 3)).toEqual([50, 50, 20]);
      if (sort === 'created_at') expect(pages).toHaveLength(3);
    }
  });

  it.each(['limit=0', 'limit=500', 'limit=abc'])('when %s, then 422', async (query) => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const response = await t.app.inject({
      url: `/api/v1/projects/${projectId}/tasks?${query}`,
      headers: owner.headers,
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ location: 'query', field: 'limit' }],
    });
  });

  it('when the cursor is garbage or from another sort, then 400 invalid_cursor', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    for (let i = 0; i < 3; i += 1) await createTask(t.app, projectId, owner);
    const first = await page(`/api/v1/projects/${projectId}/tasks?limit=1`, owner.headers);
    for (const url of [
      `/api/v1/projects/${projectId}/tasks?cursor=garbage!!`,
      `/api/v1/projects/${projectId}/tasks?cursor=${Buffer.from('["tasks:created_at:",1,"x"]').toString('base64url')}`,
      `/api/v1/projects/${projectId}/tasks?sort=-priority&cursor=${first.next_cursor ?? ''}`,
    ]) {
      const response = await t.app.inject({ url, headers: owner.headers });
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toMatchObject({ code: 'invalid_cursor' });
    }
  });

  it('when filters combine, then status is any-of and label is all-of', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const a = await createTask(t.app, projectId, owner, {
      title: 'a',
      status: 'todo',
      labels: ['red', 'blue'],
    });
    const b = await createTask(t.app, projectId, owner, {
      title: 'b',
      status: 'in_progress',
      labels: ['red'],
    });
    await createTask(t.app, projectId, owner, {
      title: 'c',
      status: 'done',
      labels: ['red', 'blue'],
    });
    const base = `/api/v1/projects/${projectId}/tasks`;
    const ids = async (query: string) =>
      (await page(`${base}?${query}`, owner.headers)).items.map((task) => task.title).sort();
    expect(await ids('status=todo&status=in_progress')).toEqual(['a', 'b']);
    expect(await ids('label=red&label=blue')).toEqual(['a', 'c']);
    expect(await ids('label=red&label=blue&status=todo&status=in_progress')).toEqual(['a']);
    expect(await ids('label=red&status=in_progress')).toEqual(['b']);
    expect(a.id).not.toBe(b.id);
  });

  it('when filtering by assignee, due dates, priority, parent and updated_since, then only matches come back', async () => {
    const owner = await createUser(t.app);
    const mate = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    await addMember(t.app, projectId, owner, mate, 'editor');
    const parent = await createTask(t.app, projectId, owner, {
      title: 'parent',
      due_at: '2030-01-10T00:00:00.000Z',
      priority: 'high',
    });
    await createTask(t.app, projectId, owner, {
      title: 'child',
      parent_id: parent.id,
      assignee_id: mate.user.id,
      priority: 'low',
    });
    await createTask(t.app, projectId, owner, {
      title: 'early',
      due_at: '2030-01-01T00:00:00.000Z',
      assignee_id: owner.user.id,
      priority: 'urgent',
    });
    const base = `/api/v1/projects/${projectId}/tasks`;
    const titles = async (query: string, user = owner) =>
      (await page(`${base}?${query}`, user.headers)).items.map((task) => task.title);
    expect(await titles('assignee_id=me')).toEqual(['early']);
    expect(await titles('assignee_id=me', mate)).toEqual(['child']);
    expect(await titles(`assignee_id=${mate.user.id}`)).toEqual(['child']);
    expect(await titles('due_before=2030-01-05T00:00:00.000Z')).toEqual(['early']);
    expect(await titles('due_after=2030-01-05T00:00:00.000Z')).toEqual(['parent']);
    expect(await titles('priority=urgent&priority=high')).toEqual(['parent', 'early']);
    expect(await titles(`parent_id=${parent.id}`)).toEqual(['child']);
    expect(await titles('sort=-priority')).toEqual(['early', 'parent', 'child']);
    expect(await titles('sort=due_at')).toEqual(['early', 'parent', 'child']);
    expect(await titles('sort=-due_at')).toEqual(['child', 'parent', 'early']);
    expect(await titles(`updated_since=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual(
      [],
    );
  });

  it('when paging by due date with nulls, then every task appears once in both directions', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    for (let i = 0; i < 7; i += 1) {
      await createTask(t.app, projectId, owner, {
        title: `t${i}`,
        due_at: i % 2 ? null : `2030-01-0${(i % 3) + 1}T00:00:00.000Z`,
      });
    }
    for (const sort of [
      'due_at',
      '-due_at',
      'priority',
      '-position',
      'updated_at',
      '-updated_at',
    ]) {
      const all = (
        await page(`/api/v1/projects/${projectId}/tasks?sort=${sort}&limit=200`, owner.headers)
      ).items.map((task) => task.id);
      const paged = (
        await walk(`/api/v1/projects/${projectId}/tasks?sort=${sort}&limit=2`, owner.headers)
      )
        .flat()
        .map((task) => task.id);
      expect(paged, sort).toEqual(all);
      expect(all).toHaveLength(7);
    }
  });

  it('when searching, then words in title or description are found, ranked, and nothing from unseen projects', async () => {
    const owner = await createUser(t.app);
    const stranger = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const hiddenProject = await createProject(t.app, stranger);
    await createTask(t.app, projectId, owner, {
      title: 'Pay the invoice',
      description: 'before friday',
    });
    await createTask(t.app, projectId, owner, {
      title: 'Call Bob',
      description: 'about the invoice',
    });
    await createTask(t.app, projectId, owner, { title: 'Unrelated' });
    await createTask(t.app, hiddenProject, stranger, { title: 'Secret invoice' });
    const result = await page('/api/v1/tasks?q=invoice', owner.headers);
    // The title match ranks above the description match.
    expect(result.items.map((task) => task.title)).toEqual(['Pay the invoice', 'Call Bob']);
    const paged = (await walk('/api/v1/tasks?q=invoice&limit=1', owner.headers))
      .flat()
      .map((task) => task.title);
    expect(paged).toEqual(['Pay the invoice', 'Call Bob']);
    expect((await page('/api/v1/tasks?q=friday', owner.headers)).items).toHaveLength(1);
    expect((await page('/api/v1/tasks?q=secret', owner.headers)).items).toHaveLength(0);
    const badSort = await t.app.inject({ url: '/api/v1/tasks?sort=rank', headers: owner.headers });
    expect(badSort.statusCode).toBe(422);
  });

  it('when listing across projects, then only the caller’s projects are included', async () => {
    const owner = await createUser(t.app);
    const other = await createUser(t.app);
    const mine = await createProject(t.app, owner);
    const shared = await createProject(t.app, other);
    const hidden = await createProject(t.app, other);
    await addMember(t.app, shared, other, owner, 'viewer');
    await createTask(t.app, mine, owner, { title: 'mine' });
    await createTask(t.app, shared, other, { title: 'shared' });
    await createTask(t.app, hidden, other, { title: 'hidden' });
    const titles = (await page('/api/v1/tasks', owner.headers)).items
      .map((task) => task.title)
      .sort();
    expect(titles).toEqual(['mine', 'shared']);
    const onlyShared = (await page(`/api/v1/tasks?project_id=${shared}`, owner.headers)).items.map(
      (task) => task.title,
    );
    expect(onlyShared).toEqual(['shared']);
  });

  it('when a filter value is invalid, then 422 names it', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      url: '/api/v1/tasks?status=nope&assignee_id=xyz&due_before=yesterday&sort=title&extra=1',
      headers: owner.headers,
    });
    expect(response.statusCode).toBe(422);
    const fields = response
      .json<{ errors: { field: string }[] }>()
      .errors.map((error) => error.field);
    expect(fields).toEqual(
      expect.arrayContaining(['status.0', 'assignee_id', 'due_before', 'sort', 'extra']),
    );
  });
});
