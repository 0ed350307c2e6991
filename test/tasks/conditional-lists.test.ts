import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { prepareMemberVersionsDigest } from '../../src/modules/projects/project-versions.repository.js';
import { RecentDigests } from '../../src/modules/tasks/tasks.service.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';

const t = useTestApp();

async function get(url: string, user: TestUser, ifNoneMatch?: string) {
  return t.app.inject({
    url,
    headers: {
      ...user.headers,
      ...(ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch }),
    },
  });
}

/** The current ETag of a list (a 200 with a weak tag). */
async function etagOf(url: string, user: TestUser): Promise<string> {
  const response = await get(url, user);
  expect(response.statusCode, response.body).toBe(200);
  const etag = response.headers.etag;
  expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
  return etag as string;
}

async function send(method: string, url: string, user: TestUser, payload?: object) {
  const response = await t.app.inject({
    method: method as 'POST',
    url,
    headers: user.headers,
    ...(payload === undefined ? {} : { payload }),
  });
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
  return response;
}

interface World {
  owner: TestUser;
  member: TestUser;
  a: string;
  b: string;
  taskA: string;
  taskB: string;
  /** The lists the owner polls: project A, project B, and every project (`/tasks`). */
  lists: { a: string; b: string; all: string };
}

async function world(): Promise<World> {
  const owner = await createUser(t.app);
  const member = await createUser(t.app);
  const a = await createProject(t.app, owner, { name: 'A' });
  const b = await createProject(t.app, owner, { name: 'B' });
  await addMember(t.app, a, owner, member, 'editor');
  const taskA = (await createTask(t.app, a, owner, { title: 'in A' })).id;
  const taskB = (await createTask(t.app, b, owner, { title: 'in B' })).id;
  return {
    owner,
    member,
    a,
    b,
    taskA,
    taskB,
    lists: {
      a: `/api/v1/projects/${a}/tasks`,
      b: `/api/v1/projects/${b}/tasks`,
      all: '/api/v1/tasks',
    },
  };
}

type Change = (w: World, commentId: string) => Promise<unknown>;

/** Changes in project A (and, for a move, B), each by the API a client would use. */
const CHANGES: [string, Change, { b: boolean }][] = [
  ['a task is created', (w) => createTask(t.app, w.a, w.member, { title: 'new' }), { b: false }],
  [
    'a task is renamed',
    (w) => send('PATCH', `/api/v1/tasks/${w.taskA}`, w.member, { title: 'renamed' }),
    { b: false },
  ],
  [
    'a task is completed',
    (w) => send('PATCH', `/api/v1/tasks/${w.taskA}`, w.member, { status: 'done' }),
    { b: false },
  ],
  ['a task is deleted', (w) => send('DELETE', `/api/v1/tasks/${w.taskA}`, w.member), { b: false }],
  [
    'a task moves to another project',
    (w) => send('PATCH', `/api/v1/tasks/${w.taskA}`, w.owner, { project_id: w.b }),
    { b: true },
  ],
  [
    'a comment is written',
    (w) => send('POST', `/api/v1/tasks/${w.taskA}/comments`, w.member, { body: 'hello' }),
    { b: false },
  ],
  [
    'a comment is edited',
    (w, id) => send('PATCH', `/api/v1/comments/${id}`, w.member, { body: 'edited' }),
    { b: false },
  ],
  [
    'a comment is deleted',
    (w, id) => send('DELETE', `/api/v1/comments/${id}`, w.member),
    { b: false },
  ],
  [
    'a member joins',
    async (w) => addMember(t.app, w.a, w.owner, await createUser(t.app), 'viewer'),
    { b: false },
  ],
  [
    'a member changes role',
    (w) =>
      send('PATCH', `/api/v1/projects/${w.a}/members/${w.member.user.id}`, w.owner, {
        role: 'viewer',
      }),
    { b: false },
  ],
  [
    'a member leaves',
    (w) => send('DELETE', `/api/v1/projects/${w.a}/members/${w.member.user.id}`, w.owner),
    { b: false },
  ],
  [
    'a member deletes their account',
    (w) => send('DELETE', '/api/v1/users/me', w.member),
    { b: false },
  ],
  [
    'the project is renamed',
    (w) => send('PATCH', `/api/v1/projects/${w.a}`, w.owner, { name: 'A2' }),
    { b: false },
  ],
];

describe('conditional task lists', () => {
  it('when nothing changed, then If-None-Match with the tag (weak or not, or *) answers 304 with no body', async () => {
    const w = await world();
    for (const url of [w.lists.a, w.lists.all, `${w.lists.a}?label=x&sort=-due_at&limit=7`]) {
      const etag = await etagOf(url, w.owner);
      for (const header of [etag, etag.slice(2), `"other", ${etag}`, '*']) {
        const response = await get(url, w.owner, header);
        expect(response.statusCode, `${url} ${header}`).toBe(304);
        expect(response.body).toBe('');
        // No body and no length: a client reading by Content-Length must not wait for one.
        expect(response.headers['content-length']).toBeUndefined();
        expect(response.headers.etag).toBe(etag);
      }
      const other = await get(url, w.owner, 'W/"someone-elses"');
      expect(other.statusCode).toBe(200);
      expect(other.json<{ items: unknown[] }>().items).toBeInstanceOf(Array);
    }
  });

  it.each(CHANGES)(
    'when %s, then the lists covering it answer 200 again',
    async (_, change, covers) => {
      const w = await world();
      const comment = await send('POST', `/api/v1/tasks/${w.taskA}/comments`, w.member, {
        body: 'first',
      });
      const before = {
        a: await etagOf(w.lists.a, w.owner),
        b: await etagOf(w.lists.b, w.owner),
        all: await etagOf(w.lists.all, w.owner),
      };
      await change(w, comment.json<{ id: string }>().id);
      const a = await get(w.lists.a, w.owner, before.a);
      expect(a.statusCode).toBe(200);
      expect(a.headers.etag).not.toBe(before.a);
      expect((await get(w.lists.all, w.owner, before.all)).statusCode).toBe(200);
      // Project B's list moves only when the change reached B.
      expect((await get(w.lists.b, w.owner, before.b)).statusCode).toBe(covers.b ? 200 : 304);
    },
  );

  it('when another project changes, then a project list stays 304 and the list across projects does not', async () => {
    const w = await world();
    const a = await etagOf(w.lists.a, w.owner);
    const all = await etagOf(w.lists.all, w.owner);
    await send('PATCH', `/api/v1/tasks/${w.taskB}`, w.owner, { title: 'changed in B' });
    // A project the owner is not in at all changes too.
    const stranger = await createUser(t.app);
    const elsewhere = await createProject(t.app, stranger);
    await createTask(t.app, elsewhere, stranger, { title: 'far away' });
    expect((await get(w.lists.a, w.owner, a)).statusCode).toBe(304);
    expect((await get(w.lists.all, w.owner, all)).statusCode).toBe(200);
  });

  it('when the list across projects is read again right after a change, then its page is current, and the tag it carries never earns a 304 for the changed list', async () => {
    const w = await world();
    const first = await etagOf(w.lists.all, w.owner);
    const created = await createTask(t.app, w.b, w.owner, { title: 'just made' });
    // Within a second the page may carry the tag of the digest read before it: never a newer one.
    const again = await get(w.lists.all, w.owner);
    expect(again.statusCode).toBe(200);
    expect(again.json<{ items: { id: string }[] }>().items.map((item) => item.id)).toContain(
      created.id,
    );
    expect(again.headers.etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    const revalidated = await get(w.lists.all, w.owner, again.headers.etag);
    expect(revalidated.statusCode).toBe(200);
    expect(revalidated.headers.etag).not.toBe(first);
    expect((await get(w.lists.all, w.owner, revalidated.headers.etag as string)).statusCode).toBe(
      304,
    );
  });

  it('when a remembered digest is older than its lifetime, then it is read again', () => {
    let now = 0;
    const digests = new RecentDigests({ now: () => new Date(now) }, 1_000, 2);
    digests.set('u1', '3.10.7');
    now = 1_000;
    expect(digests.get('u1')).toBe('3.10.7');
    now = 1_001;
    expect(digests.get('u1')).toBeNull();
    digests.set('u1', '1');
    digests.set('u2', '2');
    digests.set('u3', '3'); // over the bound: the others go
    expect([digests.get('u1'), digests.get('u2'), digests.get('u3')]).toEqual([null, null, '3']);
  });

  it('when the caller joins a project, then the list across projects answers 200', async () => {
    const w = await world();
    const other = await createUser(t.app);
    const theirs = await createProject(t.app, other);
    const all = await etagOf(w.lists.all, w.owner);
    const filtered = await etagOf(`${w.lists.all}?project_id=${w.a}`, w.owner);
    await addMember(t.app, theirs, other, w.owner, 'viewer');
    expect((await get(w.lists.all, w.owner, all)).statusCode).toBe(200);
    // The list of one project does not cover the new one.
    expect((await get(`${w.lists.all}?project_id=${w.a}`, w.owner, filtered)).statusCode).toBe(304);
  });

  it('when the caller leaves one project and joins another, or a project of theirs is deleted, then the list across projects answers 200', async () => {
    const w = await world();
    const all = await etagOf(w.lists.all, w.member);
    await send('DELETE', `/api/v1/projects/${w.a}/members/${w.member.user.id}`, w.owner);
    await addMember(t.app, w.b, w.owner, w.member, 'editor');
    const swapped = await get(w.lists.all, w.member, all);
    expect(swapped.statusCode).toBe(200);
    const owners = await etagOf(w.lists.all, w.owner);
    await send('DELETE', `/api/v1/projects/${w.b}`, w.owner);
    expect((await get(w.lists.all, w.owner, owners)).statusCode).toBe(200);
    expect((await get(w.lists.all, w.member, swapped.headers.etag as string)).statusCode).toBe(200);
  });

  it("when memberships swap between projects of equal versions, then the digest of the caller's projects still moves", async () => {
    // Count and sum of versions are the same before and after; only the per-project hash differs.
    const w = await world();
    const digests = prepareMemberVersionsDigest(t.app.db);
    const digest = async () => (await digests.execute({ userId: w.member.user.id }))[0]?.digest;
    const setVersion = (projectId: string, version: number) =>
      t.app.db.execute(
        sql`update project_versions set change_version = ${version} where project_id = ${projectId}`,
      );
    // The member is in A (version 5), not in B (version 4). Leaving A bumps it to 6 and
    // joining B bumps B to 5: one project at version 5 before and after.
    await setVersion(w.a, 5);
    await setVersion(w.b, 4);
    const before = await digest();
    expect(before).toMatch(/^\d+\.\d+\.-?\d+$/);
    await t.app.db.transaction(async (tx) => {
      await tx.execute(
        sql`delete from project_members where project_id = ${w.a} and user_id = ${w.member.user.id}`,
      );
      await tx.execute(
        sql`insert into project_members (project_id, user_id, role) values (${w.b}, ${w.member.user.id}, 'viewer')`,
      );
    });
    const after = await digest();
    expect(after?.split('.').slice(0, 2)).toEqual(before?.split('.').slice(0, 2));
    expect(after).not.toBe(before);
    expect(await digest()).toBe(after);
  });

  it('when the query, the page or the caller differ, then the tags differ', async () => {
    const w = await world();
    const tags = new Set([
      await etagOf(w.lists.a, w.owner),
      await etagOf(`${w.lists.a}?limit=10`, w.owner),
      await etagOf(`${w.lists.a}?sort=-created_at`, w.owner),
      await etagOf(`${w.lists.a}?assignee_id=me`, w.owner),
      await etagOf(w.lists.a, w.member),
      await etagOf(`${w.lists.all}?project_id=${w.a}`, w.owner),
    ]);
    expect(tags.size).toBe(6);
    // The default limit and an explicit one are the same query.
    expect(await etagOf(`${w.lists.a}?limit=50`, w.owner)).toBe(await etagOf(w.lists.a, w.owner));
  });

  it('when someone who may not see the list sends its tag, then 401 or 404, never 304', async () => {
    const w = await world();
    const etag = await etagOf(w.lists.a, w.member);
    const anonymous = await t.app.inject({ url: w.lists.a, headers: { 'if-none-match': etag } });
    expect(anonymous.statusCode).toBe(401);
    const outsider = await createUser(t.app);
    expect((await get(w.lists.a, outsider, etag)).statusCode).toBe(404);
    expect((await get(w.lists.a, outsider, '*')).statusCode).toBe(404);
    await send('DELETE', `/api/v1/projects/${w.a}/members/${w.member.user.id}`, w.owner);
    expect((await get(w.lists.a, w.member, etag)).statusCode).toBe(404);
    const missing = '/api/v1/projects/00000000-0000-7000-8000-000000000000/tasks';
    expect((await get(missing, w.owner, '*')).statusCode).toBe(404);
  });

  it('when If-None-Match is oversized or the query invalid, then 4xx, not 304', async () => {
    const w = await world();
    const etag = await etagOf(w.lists.a, w.owner);
    const oversized = await get(w.lists.a, w.owner, `${etag}, "${'x'.repeat(200)}"`);
    expect(oversized.statusCode).toBe(422);
    expect((await get(`${w.lists.a}?limit=0`, w.owner, etag)).statusCode).toBe(422);
    expect((await get(`${w.lists.a}?cursor=nonsense`, w.owner, '*')).statusCode).toBe(400);
  });
});

describe('conditional comment and activity lists', () => {
  it('when a comment is written in the project, then its comment and activity lists answer 200, and a change elsewhere leaves them 304', async () => {
    const w = await world();
    const comments = `/api/v1/tasks/${w.taskA}/comments`;
    const activity = `/api/v1/projects/${w.a}/activity`;
    const tags = async () => ({
      comments: await etagOf(comments, w.owner),
      activity: await etagOf(activity, w.owner),
    });
    let before = await tags();
    expect((await get(comments, w.owner, before.comments)).statusCode).toBe(304);
    expect((await get(activity, w.owner, before.activity)).statusCode).toBe(304);

    await send('PATCH', `/api/v1/tasks/${w.taskB}`, w.owner, { title: 'elsewhere' });
    expect((await get(comments, w.owner, before.comments)).statusCode).toBe(304);
    expect((await get(activity, w.owner, before.activity)).statusCode).toBe(304);

    await send('POST', comments, w.member, { body: 'news' });
    const comment = await get(comments, w.owner, before.comments);
    expect(comment.statusCode).toBe(200);
    expect(comment.json<{ items: { body: string }[] }>().items.map((c) => c.body)).toEqual([
      'news',
    ]);
    expect((await get(activity, w.owner, before.activity)).statusCode).toBe(200);

    before = await tags();
    await send('PATCH', `/api/v1/tasks/${w.taskA}`, w.member, { title: 'again' });
    expect((await get(activity, w.owner, before.activity)).statusCode).toBe(200);
  });

  it('when someone who may not see them sends the tags, then 401 or 404, and a bad cursor is 400', async () => {
    const w = await world();
    const comments = `/api/v1/tasks/${w.taskA}/comments`;
    const activity = `/api/v1/projects/${w.a}/activity`;
    const outsider = await createUser(t.app);
    for (const url of [comments, activity]) {
      const etag = await etagOf(url, w.owner);
      expect((await get(url, outsider, etag)).statusCode).toBe(404);
      expect((await t.app.inject({ url, headers: { 'if-none-match': etag } })).statusCode).toBe(
        401,
      );
      expect((await get(`${url}?cursor=nonsense`, w.owner, '*')).statusCode).toBe(400);
    }
  });
});
