import { eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import {
  projectMembers,
  projects,
  projectVersions,
  tasks,
  users,
} from '../../src/db/schema/index.js';
import { listTaskJson, listTasks } from '../../src/modules/tasks/tasks.repository.js';
import { toTaskPublic } from '../../src/modules/tasks/tasks.service.js';
import { newId } from '../../src/lib/ids.js';
import { currentAuth } from '../../src/plugins/auth.js';
import {
  ProjectTaskListQuerySchema,
  TaskListQuerySchema,
  TaskPageSchema,
  TaskPublicSchema,
} from '../../src/modules/tasks/tasks.schemas.js';
import type { TaskListQuery } from '../../src/modules/tasks/tasks.schemas.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';

/**
 * List pages are sent as the text PostgreSQL serialised (`listTaskJson`). These tests hold that
 * text byte for byte to what the route's schema serialiser makes of the same page built as
 * objects, over many random rows: awkward strings, every kind of number, nulls, every sort.
 */
const t = useTestApp({
  setup: (app) => {
    const byObjects = (projectScoped: boolean) => ({
      onRequest: [app.authenticate],
      schema: {
        hide: true,
        querystring: projectScoped ? ProjectTaskListQuerySchema : TaskListQuerySchema,
        response: { 200: TaskPageSchema },
      },
    });
    app.get<{ Params: { id: string }; Querystring: TaskListQuery }>(
      '/test/projects/:id/tasks',
      byObjects(true),
      async (request) => {
        const answer = await app.services.tasks.list(
          currentAuth(request).userId,
          request.params.id,
          request.query,
          { preSerialised: false },
        );
        return answer.page;
      },
    );
    app.get<{ Params: { id: string } }>(
      '/test/tasks/:id',
      {
        onRequest: [app.authenticate],
        schema: { hide: true, response: { 200: TaskPublicSchema } },
      },
      async (request) =>
        toTaskPublic(await app.services.tasks.get(currentAuth(request).userId, request.params.id)),
    );
    app.get<{ Querystring: TaskListQuery }>('/test/tasks', byObjects(false), async (request) => {
      const answer = await app.services.tasks.list(
        currentAuth(request).userId,
        null,
        request.query,
        {
          preSerialised: false,
        },
      );
      return answer.page;
    });
  },
});

// A fixed seed, so a failure can be replayed.
let state = 0x2545f491;
function random(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const PIECES = [
  'invoice',
  'plain words',
  '"quoted"',
  'back\\slash',
  'new\nline',
  'tab\there',
  '\u0001\u0008\u000b\u000c\u001f',
  '\u007f',
  '\u2028\u2029',
  'émoji 😀 ∑',
  '</script>',
  '{"json":[1,2]}',
  ' ',
  '',
];
const text = (pieces: number) =>
  Array.from({ length: pieces }, () => pick(PIECES)).join(pick(['', ' ', '-']));

// Positions JavaScript and PostgreSQL print alike, and (rarely, so most pages still take the
// fast path) ones they print differently, which send their page the ordinary way.
const POSITIONS = [
  () => 0,
  () => Math.floor(random() * 1000),
  () => random() * 1000 - 500,
  () => Date.now() + random(),
  () => 1e14 * random(),
  () => 0.001 + random() / 1000,
  () => -123456.789,
  () => 0.1 + 0.2,
];
const EXOTIC_POSITIONS = [
  () => -0,
  () => 1e15 * (1 + random()),
  () => 1e20,
  () => 1.5e21,
  () => 1e-5 * random(),
  () => 1e-7,
  () => Number.MAX_VALUE,
  () => Number.MIN_VALUE,
];

function randomDate(): Date {
  // Millisecond times from 1970 to about 2100.
  return new Date(Math.floor(random() * 4_100_000_000_000));
}

async function seedRandomTasks(projectId: string, users: TestUser[], count: number) {
  const rows = Array.from({ length: count }, () => {
    const status = pick(['todo', 'in_progress', 'done', 'canceled'] as const);
    return {
      id: newId(),
      projectId,
      title: text(1 + Math.floor(random() * 4)) || 'x',
      description: text(Math.floor(random() * 8)),
      status,
      priority: pick(['none', 'low', 'medium', 'high', 'urgent'] as const),
      labels: [
        ...new Set(
          Array.from({ length: Math.floor(random() * 4) }, () =>
            pick(['bug', 'ui', 'é"\\', 'x y']),
          ),
        ),
      ],
      assigneeId: random() < 0.5 ? null : pick(users).user.id,
      dueAt: random() < 0.3 ? null : randomDate(),
      remindAt: random() < 0.7 ? null : randomDate(),
      recurrence:
        random() < 0.7 ? null : pick(['FREQ=WEEKLY;BYDAY=MO', 'FREQ=MONTHLY;BYMONTHDAY=31']),
      timezone: random() < 0.5 ? null : pick(['Europe/Berlin', 'America/Argentina/Buenos_Aires']),
      seriesId: random() < 0.7 ? null : newId(),
      completedAt: status === 'done' ? randomDate() : null,
      position: pick(random() < 0.01 ? EXOTIC_POSITIONS : POSITIONS)(),
      createdBy: random() < 0.1 ? null : pick(users).user.id,
      version: 1 + Math.floor(random() * 5),
      createdAt: randomDate(),
      updatedAt: randomDate(),
    };
  });
  await t.app.db.insert(tasks).values(rows);
}

/** A position PostgreSQL prints other than JavaScript: its page takes the ordinary path. */
const exotic = (position: number) =>
  Object.is(position, -0) ||
  Math.abs(position) >= 1e15 ||
  (position !== 0 && Math.abs(position) < 1e-4);

/** Pages whose every position PostgreSQL prints as JavaScript does: sent pre-serialised. */
let fastPages = 0;

/** Walks every page of `path` on both routes and requires identical bodies and headers. */
async function compareAllPages(path: string, user: TestUser): Promise<number> {
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const url: string = cursor === null ? path : `${path}${separator}cursor=${cursor}`;
    const fast = await t.app.inject({ url: `/api/v1${url}`, headers: user.headers });
    const slow = await t.app.inject({ url: `/test${url}`, headers: user.headers });
    expect(fast.statusCode, `${url}: ${fast.body}`).toBe(200);
    expect(slow.statusCode, slow.body).toBe(200);
    expect(fast.body, url).toBe(slow.body);
    expect(fast.headers['content-type']).toBe(slow.headers['content-type']);
    expect(fast.headers['content-length']).toBe(slow.headers['content-length']);
    const page = fast.json<{ items: { position: number }[]; next_cursor: string | null }>();
    if (!page.items.some((item) => exotic(item.position))) fastPages += 1;
    cursor = page.next_cursor;
    pages += 1;
  } while (cursor !== null && pages < 50);
  return pages;
}

describe('pre-serialised list pages', () => {
  it('when 600 random tasks are listed in every sort, filter and page size, then each page is byte for byte the schema serialiser’s', async () => {
    const owner = await createUser(t.app);
    const other = await createUser(t.app);
    const a = await createProject(t.app, owner);
    const b = await createProject(t.app, owner);
    await addMember(t.app, a, owner, other, 'viewer');
    await seedRandomTasks(a, [owner, other], 400);
    await seedRandomTasks(b, [owner, other], 200);

    let pages = 0;
    const sorts = ['created_at', '-created_at', 'updated_at', '-updated_at', 'due_at', '-due_at'];
    for (const sort of [...sorts, 'priority', '-priority', 'position', '-position']) {
      pages += await compareAllPages(`/projects/${a}/tasks?sort=${sort}&limit=97`, owner);
    }
    for (const query of [
      'limit=200',
      'label=bug',
      'label=bug&label=ui',
      'label=%C3%A9%22%5C',
      'q=invoice',
      'q=invoice&sort=rank&limit=13',
      'status=done&status=canceled&sort=-due_at',
      'priority=urgent&sort=position',
      `assignee_id=${other.user.id}&sort=updated_at`,
      'due_before=2030-01-01T00:00:00.000Z&due_after=1990-01-01T00:00:00.000Z',
      'updated_since=2050-01-01T00:00:00.000Z',
    ]) {
      pages += await compareAllPages(`/projects/${a}/tasks?${query}`, owner);
      pages += await compareAllPages(`/tasks?${query}`, owner);
    }
    // Across projects as someone who sees only one of them.
    pages += await compareAllPages('/tasks?limit=150&sort=-position', other);
    expect(pages).toBeGreaterThan(60);
    expect(fastPages).toBeGreaterThan(30);
  });

  it('when tasks change by every kind of write, then the JSON stored with each follows it and pages stay the serialiser’s', async () => {
    const owner = await createUser(t.app);
    const helper = await createUser(t.app);
    const a = await createProject(t.app, owner);
    const b = await createProject(t.app, owner);
    await addMember(t.app, a, owner, helper, 'editor');
    const created = [];
    for (let i = 0; i < 24; i++) {
      created.push(
        await createTask(t.app, a, i % 2 ? helper : owner, {
          title: `task ${i}`,
          labels: ['bug'],
          due_at: '2031-02-03T04:05:06.789Z',
          position: i,
          ...(i >= 18 ? { assignee_id: helper.user.id } : {}),
        }),
      );
    }
    const edits: Record<string, unknown>[] = [
      { title: 'edited "quoted"\n\u0001' },
      { labels: ['x y', 'é"\\'], priority: 'urgent' },
      { status: 'done' },
      { due_at: null, remind_at: '2030-01-01T00:00:00.000Z' },
      { position: 1e-7 }, // printed otherwise by PostgreSQL: that page takes the ordinary path
      { position: 2.5 },
      { project_id: b },
      { recurrence: 'FREQ=WEEKLY;BYDAY=MO', timezone: 'Europe/Berlin' },
    ];
    for (const [i, task] of created.slice(0, 16).entries()) {
      const response = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/tasks/${task.id}`,
        headers: owner.headers,
        payload: edits[i % edits.length],
      });
      expect(response.statusCode, response.body).toBe(200);
    }
    // The foreign keys' own writes: a deleted author and assignee are set null on their tasks.
    await t.app.db.delete(users).where(eq(users.id, helper.user.id));
    const stored = await t.app.db
      .select({ id: tasks.id, json: tasks.publicJson })
      .from(tasks)
      .where(inArray(tasks.projectId, [a, b]));
    expect(stored).toHaveLength(24);
    expect(stored.filter((row) => row.json === null)).toHaveLength(2);
    expect(stored.some((row) => row.json?.includes(helper.user.id))).toBe(false);

    let pages = 0;
    for (const project of [a, b]) {
      for (const sort of ['created_at', '-updated_at', 'position']) {
        pages += await compareAllPages(`/projects/${project}/tasks?sort=${sort}&limit=7`, owner);
      }
    }
    pages += await compareAllPages('/tasks?label=bug&limit=5', owner);
    expect(pages).toBeGreaterThan(10);
    // GET /tasks/{id} sends the same stored text, or serialises the row where there is none.
    for (const { id } of stored) {
      const fast = await t.app.inject({ url: `/api/v1/tasks/${id}`, headers: owner.headers });
      const slow = await t.app.inject({ url: `/test/tasks/${id}`, headers: owner.headers });
      expect(fast.statusCode, fast.body).toBe(200);
      expect(fast.body).toBe(slow.body);
      expect(fast.headers['content-type']).toBe(slow.headers['content-type']);
      expect(fast.headers['content-length']).toBe(slow.headers['content-length']);
    }
  });

  it('when a page is empty, or the project unknown, then both paths agree', async () => {
    const owner = await createUser(t.app);
    const a = await createProject(t.app, owner);
    expect(await compareAllPages(`/projects/${a}/tasks`, owner)).toBe(1);
    const fast = await t.app.inject({
      url: '/api/v1/projects/00000000-0000-7000-8000-000000000000/tasks',
      headers: owner.headers,
    });
    expect(fast.statusCode).toBe(404);
    expect(fast.headers['content-type']).toContain('application/problem+json');
  });

  it('when the database is PGlite, then the pre-serialised tasks and cursors are the ordinary ones too, and changes move the project version', async () => {
    const handle = await openDatabase({ url: null });
    try {
      await handle.migrate();
      const { db } = handle;
      const userId = newId();
      const projectId = newId();
      await db.insert(users).values({ id: userId, email: 'p@example.com', passwordHash: 'x' });
      await db.insert(projects).values({ id: projectId, name: 'P' });
      await db.insert(projectMembers).values({ projectId, userId, role: 'owner' });
      const version = async () =>
        (await db.select({ v: projectVersions.changeVersion }).from(projectVersions))[0]?.v;
      const before = await version();
      const rows = Array.from({ length: 30 }, (_, i) => ({
        id: newId(),
        projectId,
        title: `t "${i}" \n`,
        labels: i % 2 ? ['bug'] : [],
        dueAt: i % 3 ? randomDate() : null,
        position: random() * 100,
        createdAt: randomDate(),
      }));
      await db.insert(tasks).values(rows);
      expect(await version()).toBe((before ?? 0) + 1);
      for (const sort of ['created_at', '-due_at', 'position'] as const) {
        const filters = { projectId, userId };
        const fast = await listTaskJson(db, filters, sort, null, 10);
        const slow = await listTasks(db, filters, sort, null, 10);
        expect(fast.map((row) => JSON.parse(row.json ?? 'null') as unknown)).toEqual(
          slow.map(toTaskPublic),
        );
        expect(fast.map((row) => row.sort_value)).toEqual(slow.map((row) => row.sortValue));
      }
    } finally {
      await handle.close();
    }
  });
});
