import { asc, eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTaskListQuery,
  type TaskFilters,
  type TaskKeyset,
} from '../../src/modules/tasks/tasks.repository.js';
import { tasks } from '../../src/db/schema/index.js';
import { buildCommentListQuery } from '../../src/modules/comments/comments.repository.js';
import { TASK_SORTS, type TaskSort } from '../../src/modules/tasks/tasks.schemas.js';
import {
  buildCommittedEventsQuery,
  buildProjectEventsQuery,
  LOG_START,
} from '../../src/modules/activity/events.repository.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { createProject } from '../helpers/projects.js';
import { postgresAvailable } from '../helpers/services.js';

/**
 * Every list filter and sort must be served by an index, so a page costs the same at the
 * millionth task as at the first. This builds 120 000 tasks and reads the planner's choice.
 */
const pgOk = await postgresAvailable();
if (!pgOk)
  console.warn(
    'PostgreSQL unreachable: the query-plan checks are skipped (they read PostgreSQL plans)',
  );
const t = useTestApp();

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe.skipIf(!pgOk)('query plans on 120 000 tasks', () => {
  let owner: TestUser;
  let bigProject: string;
  let client: postgres.Sql;
  let busyTask: string;

  beforeAll(async () => {
    owner = await createUser(t.app);
    bigProject = await createProject(t.app, owner);
    const small = await Promise.all(Array.from({ length: 20 }, () => createProject(t.app, owner)));
    const stranger = await createUser(t.app);
    const foreign = await Promise.all(
      Array.from({ length: 20 }, () => createProject(t.app, stranger)),
    );
    await t.app.db.execute(sql`
      insert into tasks (id, project_id, title, description, status, priority, labels, assignee_id, due_at, position, created_by, created_at, updated_at)
      select gen_random_uuid(),
             case when n <= 100000 then ${bigProject}::uuid
                  when n <= 110000 then (string_to_array(${small.join(',')}, ',')::uuid[])[1 + n % 20]
                  else (string_to_array(${foreign.join(',')}, ',')::uuid[])[1 + n % 20] end,
             'task ' || n || case when n % 97 = 0 then ' invoice' else '' end,
             'words ' || (n % 1000) || case when n % 89 = 0 then ' quarterly report' else '' end,
             (array['todo','in_progress','done','canceled'])[1 + n % 4]::task_status,
             (array['none','low','medium','high','urgent'])[1 + n % 5]::task_priority,
             case when n % 10 = 0 then array['bug','urgent'] when n % 3 = 0 then array['feature'] else array[]::text[] end,
             case when n % 50 = 0 then ${owner.user.id}::uuid else null end,
             case when n % 4 = 0 then null else timestamptz '2026-01-01' + (n % 365) * interval '1 day' end,
             n, ${owner.user.id}::uuid,
             timestamptz '2026-01-01' + n * interval '1 second',
             timestamptz '2026-01-01' + n * interval '1 second'
      from generate_series(1, 120000) as n`);
    // 60 000 comments: half on one task, the rest spread over 300 others.
    const [busy] = await t.app.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(eq(tasks.projectId, bigProject))
      .orderBy(asc(tasks.position))
      .limit(1);
    if (busy === undefined) throw new Error('the big project has no tasks');
    busyTask = busy.id;
    await t.app.db.execute(sql`
      insert into comments (id, task_id, author_id, body, created_at, updated_at)
      select gen_random_uuid(),
             case when n % 2 = 0 then ${busyTask}::uuid else picked.ids[1 + n % 300] end,
             ${owner.user.id}::uuid, 'comment ' || n,
             timestamptz '2026-01-01' + n * interval '1 second',
             timestamptz '2026-01-01' + n * interval '1 second'
      from generate_series(1, 60000) as n,
           (select array_agg(id) as ids from (select id from tasks limit 300) as few) as picked`);
    await t.app.db.execute(sql`analyze comments`);
    // 200 000 events: most in the big project, the rest spread over the others.
    await t.app.db.execute(sql`
      insert into events (id, type, project_id, actor_id, entity_id, data)
      select gen_random_uuid(), 'task.updated',
             case when n <= 150000 then ${bigProject}::uuid
                  else (string_to_array(${small.join(',')}, ',')::uuid[])[1 + n % 20] end,
             ${owner.user.id}::uuid, gen_random_uuid(), '{}'::jsonb
      from generate_series(1, 200000) as n`);
    await t.app.db.execute(sql`analyze events`);
    await t.app.db.execute(sql`analyze tasks`);
    await t.app.db.execute(sql`analyze project_members`);
    client = postgres(t.databaseUrl ?? '', { max: 1, onnotice: () => undefined });
  }, 120_000);

  afterAll(async () => {
    await client?.end({ timeout: 1 });
  });

  async function explain(query: { sql: string; params: unknown[] }): Promise<PlanNode[]> {
    const [row] = await client.unsafe<[{ 'QUERY PLAN': [{ Plan: PlanNode }] }]>(
      `explain (format json) ${query.sql}`,
      query.params as postgres.ParameterOrJSON<never>[],
    );
    return nodes(row['QUERY PLAN'][0].Plan);
  }

  function describePlan(found: PlanNode[]): string {
    return found
      .map(
        (node) =>
          `${node['Node Type']}${node['Index Name'] ? `(${node['Index Name']})` : ''}${node['Relation Name'] ? `[${node['Relation Name']}]` : ''}`,
      )
      .join(' > ');
  }

  async function plan(
    filters: Partial<TaskFilters>,
    sort: TaskSort,
    after: TaskKeyset | null = null,
  ): Promise<PlanNode[]> {
    const query = buildTaskListQuery(
      t.app.db,
      { projectId: bigProject, userId: owner.user.id, ...filters },
      sort,
      after,
      50,
    ).toSQL();
    return explain(query);
  }

  /** Served by `index` in order: no sequential scan and no sort of the table's rows. */
  function expectServedBy(found: PlanNode[], index: string, label: string): void {
    const summary = `${label}: ${describePlan(found)}`;
    expect(
      found.some((node) => node['Index Name'] === index),
      summary,
    ).toBe(true);
    for (const node of found) {
      expect(node['Node Type'], summary).not.toBe('Seq Scan');
      expect(node['Node Type'], summary).not.toBe('Sort');
    }
  }

  it('when a project’s activity is paged, then events_project_seq_idx serves it in order', async () => {
    expectServedBy(
      await explain(buildProjectEventsQuery(t.app.db, bigProject, 50, null).toSQL()),
      'events_project_seq_idx',
      'activity first page',
    );
    expectServedBy(
      await explain(buildProjectEventsQuery(t.app.db, bigProject, 50, 120_000).toSQL()),
      'events_project_seq_idx',
      'activity deep page',
    );
  });

  it('when the relay reads after its cursor, then events_txid_seq_idx serves it in order', async () => {
    const [head] = await client<{ txid: string }[]>`select max(txid)::text as txid from events`;
    expectServedBy(
      await explain(
        buildCommittedEventsQuery(t.app.db, { txid: head?.txid ?? '0', seq: 0 }, 500).toSQL(),
      ),
      'events_txid_seq_idx',
      'relay at head',
    );
    expectServedBy(
      await explain(buildCommittedEventsQuery(t.app.db, LOG_START, 500).toSQL()),
      'events_txid_seq_idx',
      'relay from the start',
    );
  });

  function expectIndexed(found: PlanNode[], label: string): void {
    const summary = `${label}: ${describePlan(found)}`;
    const onTasks = found.filter((node) => node['Relation Name'] === 'tasks');
    expect(onTasks.length, summary).toBeGreaterThan(0);
    for (const node of onTasks) expect(node['Node Type'], summary).not.toBe('Seq Scan');
    expect(
      found.some((node) => node['Index Name']?.startsWith('tasks_')),
      summary,
    ).toBe(true);
  }

  // Every sort but relevance, which orders the matches of a search (checked with `q` below).
  const sorts = TASK_SORTS.filter((sort): sort is Exclude<TaskSort, 'rank'> => sort !== 'rank');
  it.each(sorts)('when one project is sorted by %s, then an index serves it', async (sort) => {
    expectIndexed(await plan({}, sort), sort);
  });

  it('when paging deep with a keyset, then an index serves it', async () => {
    expectIndexed(
      await plan({}, 'created_at', {
        value: '2026-01-01T20:00:00.000Z',
        id: '01a20c75-c83d-7321-9559-2498ce98cdcc',
      }),
      'deep created_at',
    );
    expectIndexed(
      await plan({}, 'due_at', {
        value: '2026-06-01T00:00:00.000Z',
        id: '01a20c75-c83d-7321-9559-2498ce98cdcc',
      }),
      'deep due_at',
    );
  });

  const filterCases: [string, Partial<TaskFilters>][] = [
    ['status', { statuses: ['todo', 'done'] }],
    ['priority', { priorities: ['urgent'] }],
    ['assignee', { assigneeId: '00000000-0000-7000-8000-000000000001' }],
    ['label', { labels: ['bug'] }],
    ['due_before', { dueBefore: new Date('2026-02-01') }],
    ['due_after', { dueAfter: new Date('2026-12-01') }],
    ['q', { q: 'invoice' }],
    ['parent_id', { parentId: '00000000-0000-7000-8000-000000000001' }],
    ['updated_since', { updatedSince: new Date('2026-01-02T03:00:00Z') }],
  ];
  it.each(filterCases)(
    'when one project is filtered by %s, then an index serves it',
    async (label, filters) => {
      expectIndexed(await plan(filters, filters.q ? 'rank' : 'created_at'), label);
    },
  );

  it.each([
    ['all tasks', {}],
    ['label', { labels: ['bug'] }],
    ['q', { q: 'quarterly' }],
    ['assignee', { assigneeId: '00000000-0000-7000-8000-000000000001' }],
  ] as [string, Partial<TaskFilters>][])(
    'when listing across projects by %s, then indexes serve it',
    async (label, filters) => {
      expectIndexed(
        await plan({ ...filters, projectId: null }, filters.q ? 'rank' : 'created_at'),
        `across ${label}`,
      );
    },
  );

  // The index must give the list's order, so a page stops after `limit` rows instead of
  // sorting every comment of the task.
  it.each([
    ['first page', null],
    ['a deep page', '01a20c75-c83d-7321-9559-2498ce98cdcc'],
  ] as [string, string | null][])(
    'when a busy task lists its comments (%s), then an index gives the order',
    async (label, after) => {
      const found = await explain(buildCommentListQuery(t.app.db, busyTask, after, 50).toSQL());
      const summary = `comments ${label}: ${describePlan(found)}`;
      expect(
        found.some((node) => node['Index Name'] === 'comments_task_idx'),
        summary,
      ).toBe(true);
      for (const node of found) {
        expect(node['Node Type'], summary).not.toMatch(/^(Seq Scan|Sort|Incremental Sort)$/);
      }
    },
  );
});
