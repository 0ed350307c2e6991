import { and, eq, fillPlaceholders, getTableColumns, type SQL, sql } from 'drizzle-orm';
import { type Database, type Executor, rawQuery, resultRows } from '../../db/client.js';
import { type AnyPgColumn, PgDialect } from 'drizzle-orm/pg-core';
import { projectMembers, type TaskRow, tasks } from '../../db/schema/index.js';
import { memberVersionsDigest } from '../projects/project-versions.repository.js';
import { callerIsMember, taskById } from './task-lookup.js';
import type { Role } from '../projects/roles.js';
import type { TaskSort } from './tasks.schemas.js';

export type TaskWithRole = TaskRow & { role: Role };
export type NewTask = typeof tasks.$inferInsert;
export type TaskChanges = Partial<
  Pick<
    TaskRow,
    | 'title'
    | 'description'
    | 'status'
    | 'priority'
    | 'labels'
    | 'assigneeId'
    | 'dueAt'
    | 'remindAt'
    | 'reminderSentAt'
    | 'recurrence'
    | 'timezone'
    | 'seriesId'
    | 'completedAt'
    | 'position'
    | 'parentId'
    | 'projectId'
  >
>;

/**
 * Every column but the search vector (an index input) and the public JSON (a list page's text,
 * read only by `listTaskJson`): what a task row holds.
 */
export const { search: _search, publicJson: _publicJson, ...taskColumns } = getTableColumns(tasks);

/** A task with the caller's role in its project: GET /tasks/{id} of a task with no stored JSON. */
export function prepareFindTaskForUser(db: Database) {
  return db
    .select({ ...taskColumns, role: projectMembers.role })
    .from(tasks)
    .innerJoin(projectMembers, callerIsMember)
    .where(taskById)
    .limit(1)
    .prepare('tasks_find_for_user');
}

/**
 * A task's stored public JSON and version, if the caller is a member of its project: all that
 * GET /tasks/{id} sends (see `listTaskJson` for the column).
 */
export function prepareFindTaskJsonForUser(db: Database) {
  return db
    .select({ version: tasks.version, json: tasks.publicJson })
    .from(tasks)
    .innerJoin(projectMembers, callerIsMember)
    .where(taskById)
    .limit(1)
    .prepare('tasks_find_json_for_user');
}

export async function findTaskForUser(
  db: Executor,
  taskId: string,
  userId: string,
  lock = false,
): Promise<TaskWithRole | null> {
  const query = db
    .select({ ...taskColumns, role: projectMembers.role })
    .from(tasks)
    .innerJoin(
      projectMembers,
      and(eq(projectMembers.projectId, tasks.projectId), eq(projectMembers.userId, userId)),
    )
    .where(eq(tasks.id, taskId))
    .limit(1);
  const [row] = lock ? await query.for('update', { of: tasks }) : await query;
  return row ?? null;
}

export async function insertTask(tx: Executor, task: NewTask): Promise<TaskRow> {
  const [row] = await tx.insert(tasks).values(task).returning(taskColumns);
  if (row === undefined) throw new Error('task insert returned nothing');
  return row;
}

/** Many tasks in one statement (an import); keep a batch under PostgreSQL's 65 535 parameters. */
export async function insertTasks(tx: Executor, rows: NewTask[]): Promise<TaskRow[]> {
  if (rows.length === 0) return [];
  return tx.insert(tasks).values(rows).returning(taskColumns);
}

export async function updateTask(
  tx: Executor,
  taskId: string,
  changes: TaskChanges,
  expectedVersion: number | undefined,
): Promise<TaskRow | null> {
  const [row] = await tx
    .update(tasks)
    .set({ ...changes, version: sql`${tasks.version} + 1`, updatedAt: sql`now()` })
    .where(
      and(
        eq(tasks.id, taskId),
        expectedVersion === undefined ? undefined : eq(tasks.version, expectedVersion),
      ),
    )
    .returning(taskColumns);
  return row ?? null;
}

export async function deleteTask(
  tx: Executor,
  taskId: string,
  expectedVersion: number | undefined,
): Promise<boolean> {
  const rows = await tx
    .delete(tasks)
    .where(
      and(
        eq(tasks.id, taskId),
        expectedVersion === undefined ? undefined : eq(tasks.version, expectedVersion),
      ),
    )
    .returning({ id: tasks.id });
  return rows.length > 0;
}

export async function hasSubtasks(db: Executor, taskId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: tasks.id })
    .from(tasks)
    .where(eq(tasks.parentId, taskId))
    .limit(1);
  return row !== undefined;
}

export async function subtaskIds(db: Executor, taskId: string): Promise<string[]> {
  const rows = await db.execute<{ id: string }>(sql`
    with recursive subtree(id) as (
      select id from tasks where parent_id = ${taskId}
      union all
      select t.id from tasks t join subtree s on t.parent_id = s.id
    )
    select id from subtree`);
  return resultRows<{ id: string }>(rows).map((row) => row.id);
}

/** True when `ancestorCandidate` is `taskId` itself or one of the ancestors of `startId`. */
export async function isAncestorOrSelf(
  db: Executor,
  startId: string,
  taskId: string,
): Promise<boolean> {
  const rows = await db.execute<{ found: boolean }>(sql`
    with recursive chain(id, parent_id, depth) as (
      select id, parent_id, 0 from tasks where id = ${startId}
      union all
      select t.id, t.parent_id, c.depth + 1 from tasks t join chain c on t.id = c.parent_id where c.depth < 1000
    )
    select exists(select 1 from chain where id = ${taskId}) as found`);
  return resultRows<{ found: boolean }>(rows)[0]?.found === true;
}

export interface TaskFilters {
  /** One project, or every project the user is a member of. */
  projectId: string | null;
  userId: string;
  statuses?: TaskRow['status'][] | undefined;
  priorities?: TaskRow['priority'][] | undefined;
  assigneeId?: string | undefined;
  labels?: string[] | undefined;
  dueBefore?: Date | undefined;
  dueAfter?: Date | undefined;
  q?: string | undefined;
  parentId?: string | undefined;
  updatedSince?: Date | undefined;
}

/** Where the previous page ended: the sort key's value and the id. */
export interface TaskKeyset {
  value: string | number | null;
  id: string;
}

const SORT_COLUMNS = {
  created_at: { column: tasks.createdAt, cast: 'timestamptz' },
  updated_at: { column: tasks.updatedAt, cast: 'timestamptz' },
  due_at: { column: tasks.dueAt, cast: 'timestamptz' },
  priority: { column: tasks.priority, cast: 'task_priority' },
  position: { column: tasks.position, cast: 'float8' },
} as const;

/**
 * How the list query names a value: inline (an ordinary parameter) or as a placeholder, so the
 * compiled text can be kept per query shape and filled with each request's values.
 */
type Value = (name: string, value: unknown) => unknown;
// An array is one parameter (the ORM would spread it into a list).
const inline: Value = (_name, value) => (Array.isArray(value) ? sql.param(value) : value);
const placeholder: Value = (name) => sql.placeholder(name);

function searchQuery(v: Value, q: string): SQL {
  return sql`websearch_to_tsquery('simple', ${v('q', q)})`;
}

function rankExpression(v: Value, q: string): SQL<number> {
  return sql<number>`ts_rank(${tasks.search}, ${searchQuery(v, q)})::float8`;
}

/**
 * Keyset condition for `(sort key, id)`. `due_at` may be null: nulls come last ascending and
 * first descending, which is PostgreSQL's own order, so the (project_id, due_at, id) index serves
 * both directions.
 */
function afterCondition(v: Value, sort: TaskSort, after: TaskKeyset, q: string | undefined): SQL {
  const id = sql`${v('afterId', after.id)}::uuid`;
  const value = v('afterValue', after.value);
  if (sort === 'rank') {
    return sql`(${rankExpression(v, q ?? '')}, ${tasks.id}) < (${value}::float8, ${id})`;
  }
  const descending = sort.startsWith('-');
  const { column, cast } =
    SORT_COLUMNS[(descending ? sort.slice(1) : sort) as keyof typeof SORT_COLUMNS];
  const op = descending ? sql`<` : sql`>`;
  if (column !== tasks.dueAt) {
    return sql`(${column}, ${tasks.id}) ${op} (${value}::${sql.raw(cast)}, ${id})`;
  }
  if (after.value === null) {
    return descending
      ? sql`((${column} is null and ${tasks.id} < ${id}) or ${column} is not null)`
      : sql`(${column} is null and ${tasks.id} > ${id})`;
  }
  const beyond = sql`(${column}, ${tasks.id}) ${op} (${value}::timestamptz, ${id})`;
  return descending ? beyond : sql`(${beyond} or ${column} is null)`;
}

function orderBy(v: Value, sort: TaskSort, q: string | undefined): SQL[] {
  if (sort === 'rank') return [sql`${rankExpression(v, q ?? '')} desc`, sql`${tasks.id} desc`];
  const descending = sort.startsWith('-');
  const { column } = SORT_COLUMNS[(descending ? sort.slice(1) : sort) as keyof typeof SORT_COLUMNS];
  return descending
    ? [sql`${column} desc`, sql`${tasks.id} desc`]
    : [sql`${column} asc`, sql`${tasks.id} asc`];
}

export interface TaskListRow extends TaskRow {
  sortValue: string | number | null;
}

/** One query for a page: filters, visibility, keyset and order; `limit + 1` rows. */
export async function listTasks(
  db: Executor,
  filters: TaskFilters,
  sort: TaskSort,
  after: TaskKeyset | null,
  limit: number,
): Promise<TaskListRow[]> {
  return (await buildTaskListQuery(db, filters, sort, after, limit)) as TaskListRow[];
}

/**
 * The page query itself, unexecuted, so its plan can be examined. Across projects, a plain
 * list takes the first page of each visible project through that project's own index (a
 * LATERAL join) and merges them, so its cost follows the page size and the number of
 * projects, never the number of tasks. With `v = placeholder` every value is a named
 * placeholder (see `taskListValues`), and the text depends only on the query's shape.
 */
export function buildTaskListQuery(
  db: Executor,
  filters: TaskFilters,
  sort: TaskSort,
  after: TaskKeyset | null,
  limit: number,
  v: Value = inline,
  fields: { id: typeof tasks.id } & Record<string, AnyPgColumn> = taskColumns,
) {
  // Label and word filters across projects use their indexes over all tasks; other lists
  // across projects read each visible project's own index (below).
  const lateral = filters.projectId === null && !filters.labels?.length && filters.q === undefined;
  const userId = v('userId', filters.userId);
  const projectScope =
    filters.projectId !== null
      ? sql`${tasks.projectId} = ${v('projectId', filters.projectId)}`
      : lateral
        ? eq(tasks.projectId, projectMembers.projectId)
        : sql`${tasks.projectId} in (select ${projectMembers.projectId} from ${projectMembers} where ${projectMembers.userId} = ${userId})`;
  const time = (name: string, value: Date | undefined) =>
    sql`${v(name, value?.toISOString())}::timestamptz`;
  const conditions: (SQL | undefined)[] = [
    projectScope,
    filters.statuses?.length
      ? sql`${tasks.status} = any(${v('statuses', filters.statuses)}::task_status[])`
      : undefined,
    filters.priorities?.length
      ? sql`${tasks.priority} = any(${v('priorities', filters.priorities)}::task_priority[])`
      : undefined,
    filters.assigneeId !== undefined
      ? sql`${tasks.assigneeId} = ${v('assigneeId', filters.assigneeId)}`
      : undefined,
    filters.labels?.length
      ? sql`${tasks.labels} @> ${v('labels', filters.labels)}::text[]`
      : undefined,
    filters.dueBefore !== undefined
      ? sql`${tasks.dueAt} < ${time('dueBefore', filters.dueBefore)}`
      : undefined,
    filters.dueAfter !== undefined
      ? sql`${tasks.dueAt} >= ${time('dueAfter', filters.dueAfter)}`
      : undefined,
    filters.q !== undefined ? sql`${tasks.search} @@ ${searchQuery(v, filters.q)}` : undefined,
    filters.parentId !== undefined
      ? sql`${tasks.parentId} = ${v('parentId', filters.parentId)}`
      : undefined,
    filters.updatedSince !== undefined
      ? sql`${tasks.updatedAt} >= ${time('updatedSince', filters.updatedSince)}`
      : undefined,
    after !== null ? afterCondition(v, sort, after, filters.q) : undefined,
  ];
  const sortValue = (
    sort === 'rank'
      ? rankExpression(v, filters.q ?? '')
      : sql`${SORT_COLUMNS[(sort.startsWith('-') ? sort.slice(1) : sort) as keyof typeof SORT_COLUMNS].column}`
  ).as('sort_value');
  const rows = v('rows', limit + 1) as number;
  const page = db
    .select({ ...fields, sortValue })
    .from(tasks)
    .where(and(...conditions))
    .orderBy(...orderBy(v, sort, filters.q))
    .limit(rows);
  if (!lateral) return page;

  const perProject = page.as('page');
  const descending = sort === 'rank' || sort.startsWith('-');
  const direction = descending ? sql`desc` : sql`asc`;
  return db
    .select(perProject._.selectedFields)
    .from(projectMembers)
    .crossJoinLateral(perProject)
    .where(sql`${projectMembers.userId} = ${userId}`)
    .orderBy(sql`${perProject.sortValue} ${direction}`, sql`${perProject.id} ${direction}`)
    .limit(rows);
}

/** The values `buildTaskListQuery(…, placeholder)` names. */
function taskListValues(
  filters: TaskFilters,
  after: TaskKeyset | null,
  limit: number,
): Record<string, unknown> {
  return {
    userId: filters.userId,
    projectId: filters.projectId,
    statuses: filters.statuses,
    priorities: filters.priorities,
    assigneeId: filters.assigneeId,
    labels: filters.labels,
    dueBefore: filters.dueBefore?.toISOString(),
    dueAfter: filters.dueAfter?.toISOString(),
    q: filters.q,
    parentId: filters.parentId,
    updatedSince: filters.updatedSince?.toISOString(),
    afterValue: after?.value,
    afterId: after?.id,
    rows: limit + 1,
  };
}

/** What decides the text of a list query; everything else is a placeholder's value. */
function taskListShape(filters: TaskFilters, sort: TaskSort, after: TaskKeyset | null): string {
  const present = (value: unknown) =>
    value === undefined || (Array.isArray(value) && value.length === 0) ? '0' : '1';
  return [
    filters.projectId === null ? 'all' : 'one',
    sort,
    after === null ? '-' : after.value === null ? 'null' : 'value',
    present(filters.statuses),
    present(filters.priorities),
    present(filters.assigneeId),
    present(filters.labels),
    present(filters.dueBefore),
    present(filters.dueAfter),
    present(filters.q),
    present(filters.parentId),
    present(filters.updatedSince),
  ].join('|');
}

/**
 * A list with no filter but its scope and cursor: its best plan is the same for every project,
 * user and cursor (walk the scope's index in the sort's order), so its statement is prepared:
 * parsed once per connection, its plan reused where PostgreSQL's cost rule takes the generic one
 * (for a project far larger than the average it keeps planning for the values, to the same
 * plan). A filter's values decide between plans (a rare label is best found through its index, a
 * common one by walking the sort order), so filtered lists are planned for their values each
 * time, and a generic plan must never serve them (prepared, a label page fell to one that took
 * 130–160 ms).
 */
function planIsValueFree(filters: TaskFilters): boolean {
  return (
    !filters.statuses?.length &&
    !filters.priorities?.length &&
    filters.assigneeId === undefined &&
    !filters.labels?.length &&
    filters.dueBefore === undefined &&
    filters.dueAfter === undefined &&
    filters.q === undefined &&
    filters.parentId === undefined &&
    filters.updatedSince === undefined
  );
}

/** A task page row as PostgreSQL serialised it, with what the next cursor needs. */
export interface TaskJsonRow {
  /** The task exactly as `TaskPublicSchema` serialises it; `null` when it must go that way. */
  json: string | null;
  sort_value: string | number | null;
  id: string;
}

/**
 * The same page as `listTasks`, but each task comes back as its JSON text: the `public_json`
 * column, which a trigger writes with every change to the task in `TaskPublicSchema`'s field
 * order and formats (migration `0014_task_public_json`), so the route sends it without mapping a
 * row or serialising an object, and the statement formats nothing (the hot path of every list
 * page; test/tasks/list-fast-path.test.ts holds it byte for byte to the schema's serialiser).
 * A position PostgreSQL would print other than JavaScript does (an exponent, `-0`) leaves
 * `json` null and the caller serialises that page the ordinary way.
 */
export async function listTaskJson(
  db: Database,
  filters: TaskFilters,
  sort: TaskSort,
  after: TaskKeyset | null,
  limit: number,
): Promise<TaskJsonRow[]> {
  const shape = taskListShape(filters, sort, after);
  let compiled = compiledJsonQueries.get(shape);
  if (compiled === undefined) {
    compiled = buildTaskJsonQuery(db, filters, sort, after, limit);
    // The shapes are finitely many (scope × sort × cursor × filters present); the bound only
    // guards against a client cycling through all of them.
    if (compiledJsonQueries.size >= 2_000) compiledJsonQueries.clear();
    compiledJsonQueries.set(shape, compiled);
  }
  return rawQuery<TaskJsonRow>(
    db,
    compiled.sql,
    fillPlaceholders(compiled.params, taskListValues(filters, after, limit)),
    { prepare: planIsValueFree(filters) },
  );
}

/** The caller's role in the one project listed (`null`: none), and the version(s) it covers. */
export interface ListAccess {
  role: Role | null;
  /** The project's change version, or across projects the digest of the caller's projects'. */
  version: string | number | null;
}

/**
 * `listTaskJson` and what its `ETag` and authorization need, in one statement (one snapshot,
 * one round trip): the caller's role and the change version of the project listed, or across
 * projects the digest of every project the caller is in (as `prepareMemberVersionsDigest`
 * computes it). Without a role the page is not read.
 */
export async function listTaskJsonWithAccess(
  db: Database,
  filters: TaskFilters,
  sort: TaskSort,
  after: TaskKeyset | null,
  limit: number,
): Promise<{ access: ListAccess; rows: TaskJsonRow[] }> {
  const shape = `access|${taskListShape(filters, sort, after)}`;
  let compiled = compiledJsonQueries.get(shape);
  if (compiled === undefined) {
    const { sql: page, params } = buildTaskJsonQuery(db, filters, sort, after, limit);
    const access =
      filters.projectId === null
        ? sql`select 'member' as role, ${memberVersionsDigest(sql.placeholder('userId'))} as version`
        : sql`select (select m.role::text from project_members m
              where m.project_id = ${placeholder('projectId', null)} and m.user_id = ${placeholder('userId', null)}) as role,
            (select v.change_version from project_versions v where v.project_id = ${placeholder('projectId', null)}) as version`;
    const head = dialect.sqlToQuery(access);
    // The page's own parameters are renumbered after the access query's.
    const shift = head.params.length;
    const pageText = page.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`);
    compiled = {
      sql: `select a.role, a.version, q.json, q.sort_value, q.id
        from (${head.sql}) a
        left join lateral (select * from (${pageText}) j where a.role is not null) q on true`,
      params: [...head.params, ...params],
    };
    if (compiledJsonQueries.size >= 2_000) compiledJsonQueries.clear();
    compiledJsonQueries.set(shape, compiled);
  }
  const rows = await rawQuery<TaskJsonRow & ListAccess>(
    db,
    compiled.sql,
    fillPlaceholders(compiled.params, taskListValues(filters, after, limit)),
    { prepare: planIsValueFree(filters) },
  );
  const first = rows[0];
  return {
    access: { role: first?.role ?? null, version: first?.version ?? null },
    rows: rows.filter((row) => row.id !== null),
  };
}

/**
 * Compiled once per shape: building and compiling the query with the ORM costs more than the
 * rest of the request's own work, and its text depends only on the shape.
 */
const dialect = new PgDialect();
const compiledJsonQueries = new Map<string, { sql: string; params: unknown[] }>();

function buildTaskJsonQuery(
  db: Database,
  filters: TaskFilters,
  sort: TaskSort,
  after: TaskKeyset | null,
  limit: number,
): { sql: string; params: unknown[] } {
  const page = buildTaskListQuery(db, filters, sort, after, limit, placeholder, {
    id: tasks.id,
    publicJson: tasks.publicJson,
  });
  const direction = sql.raw(sort === 'rank' || sort.startsWith('-') ? 'desc' : 'asc');
  // Times as the driver reads them elsewhere (their text), so cursors are the ORM path's.
  const sortValue = /_at$/.test(sort) ? sql`p.sort_value::text` : sql`p.sort_value`;
  const query = sql`
    select p.public_json as json, ${sortValue} as sort_value, p.id
    from (${page}) p
    order by p.sort_value ${direction}, p.id ${direction}`;
  return dialect.sqlToQuery(query);
}
