import {
  and,
  arrayContains,
  eq,
  getTableColumns,
  gte,
  inArray,
  lt,
  type SQL,
  sql,
} from 'drizzle-orm';
import { type Database, type Executor, resultRows } from '../../db/client.js';
import { projectMembers, type TaskRow, tasks } from '../../db/schema/index.js';
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
    | 'completedAt'
    | 'position'
    | 'parentId'
    | 'projectId'
  >
>;

const { search: _search, ...taskColumns } = getTableColumns(tasks);

/** A task with the caller's role in its project, in one indexed lookup: the hot path of GET /tasks/{id}. */
export function prepareFindTaskForUser(db: Database) {
  return db
    .select({ ...taskColumns, role: projectMembers.role })
    .from(tasks)
    .innerJoin(
      projectMembers,
      and(
        eq(projectMembers.projectId, tasks.projectId),
        eq(projectMembers.userId, sql.placeholder('userId')),
      ),
    )
    .where(eq(tasks.id, sql.placeholder('taskId')))
    .limit(1)
    .prepare('tasks_find_for_user');
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

function searchQuery(q: string): SQL {
  return sql`websearch_to_tsquery('simple', ${q})`;
}

function rankExpression(q: string): SQL<number> {
  return sql<number>`ts_rank(${tasks.search}, ${searchQuery(q)})::float8`;
}

/**
 * Keyset condition for `(sort key, id)`. `due_at` may be null: nulls come last ascending and
 * first descending, which is PostgreSQL's own order, so the (project_id, due_at, id) index serves
 * both directions.
 */
function afterCondition(sort: TaskSort, after: TaskKeyset, q: string | undefined): SQL {
  const id = sql`${after.id}::uuid`;
  if (sort === 'rank') {
    return sql`(${rankExpression(q ?? '')}, ${tasks.id}) < (${after.value}::float8, ${id})`;
  }
  const descending = sort.startsWith('-');
  const { column, cast } =
    SORT_COLUMNS[(descending ? sort.slice(1) : sort) as keyof typeof SORT_COLUMNS];
  const op = descending ? sql`<` : sql`>`;
  if (column !== tasks.dueAt) {
    return sql`(${column}, ${tasks.id}) ${op} (${after.value}::${sql.raw(cast)}, ${id})`;
  }
  if (after.value === null) {
    return descending
      ? sql`((${column} is null and ${tasks.id} < ${id}) or ${column} is not null)`
      : sql`(${column} is null and ${tasks.id} > ${id})`;
  }
  const beyond = sql`(${column}, ${tasks.id}) ${op} (${after.value}::timestamptz, ${id})`;
  return descending ? beyond : sql`(${beyond} or ${column} is null)`;
}

function orderBy(sort: TaskSort, q: string | undefined): SQL[] {
  if (sort === 'rank') return [sql`${rankExpression(q ?? '')} desc`, sql`${tasks.id} desc`];
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
 * projects, never the number of tasks.
 */
export function buildTaskListQuery(
  db: Executor,
  filters: TaskFilters,
  sort: TaskSort,
  after: TaskKeyset | null,
  limit: number,
) {
  // Label and word filters across projects use their indexes over all tasks; other lists
  // across projects read each visible project's own index (below).
  const lateral = filters.projectId === null && !filters.labels?.length && filters.q === undefined;
  const projectScope =
    filters.projectId !== null
      ? eq(tasks.projectId, filters.projectId)
      : lateral
        ? eq(tasks.projectId, projectMembers.projectId)
        : inArray(
            tasks.projectId,
            db
              .select({ id: projectMembers.projectId })
              .from(projectMembers)
              .where(eq(projectMembers.userId, filters.userId)),
          );
  const conditions: (SQL | undefined)[] = [
    projectScope,
    filters.statuses?.length ? inArray(tasks.status, filters.statuses) : undefined,
    filters.priorities?.length ? inArray(tasks.priority, filters.priorities) : undefined,
    filters.assigneeId !== undefined ? eq(tasks.assigneeId, filters.assigneeId) : undefined,
    filters.labels?.length ? arrayContains(tasks.labels, filters.labels) : undefined,
    filters.dueBefore !== undefined ? lt(tasks.dueAt, filters.dueBefore) : undefined,
    filters.dueAfter !== undefined ? gte(tasks.dueAt, filters.dueAfter) : undefined,
    filters.q !== undefined ? sql`${tasks.search} @@ ${searchQuery(filters.q)}` : undefined,
    filters.parentId !== undefined ? eq(tasks.parentId, filters.parentId) : undefined,
    filters.updatedSince !== undefined ? gte(tasks.updatedAt, filters.updatedSince) : undefined,
    after !== null ? afterCondition(sort, after, filters.q) : undefined,
  ];
  const sortValue = (
    sort === 'rank'
      ? rankExpression(filters.q ?? '')
      : sql`${SORT_COLUMNS[(sort.startsWith('-') ? sort.slice(1) : sort) as keyof typeof SORT_COLUMNS].column}`
  ).as('sort_value');
  const page = db
    .select({ ...taskColumns, sortValue })
    .from(tasks)
    .where(and(...conditions))
    .orderBy(...orderBy(sort, filters.q))
    .limit(limit + 1);
  if (!lateral) return page;

  const perProject = page.as('page');
  const descending = sort === 'rank' || sort.startsWith('-');
  const direction = descending ? sql`desc` : sql`asc`;
  return db
    .select(perProject._.selectedFields)
    .from(projectMembers)
    .crossJoinLateral(perProject)
    .where(eq(projectMembers.userId, filters.userId))
    .orderBy(sql`${perProject.sortValue} ${direction}`, sql`${perProject.id} ${direction}`)
    .limit(limit + 1);
}

/** A task page row as PostgreSQL serialised it, with what the next cursor needs. */
export interface TaskJsonRow {
  /** The task exactly as `TaskPublicSchema` serialises it; `null` when it must go that way. */
  json: string | null;
  sort_value: string | number | null;
  id: string;
}

/** `Date#toISOString()` in SQL: UTC, milliseconds (the columns hold no more), `Z`. */
const iso = (column: string) =>
  sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/**
 * The same page as `listTasks`, but each task comes back as its JSON text, built by PostgreSQL
 * with `row_to_json` in `TaskPublicSchema`'s field order and formats, so the route sends it
 * without mapping a row or serialising an object (the hot path of every list page;
 * test/tasks/list-fast-path.test.ts holds it byte for byte to the schema's serialiser).
 * A position PostgreSQL would print other than JavaScript does (an exponent, `-0`) leaves
 * `json` null and the caller serialises that page the ordinary way.
 */
export async function listTaskJson(
  db: Executor,
  filters: TaskFilters,
  sort: TaskSort,
  after: TaskKeyset | null,
  limit: number,
): Promise<TaskJsonRow[]> {
  const page = buildTaskListQuery(db, filters, sort, after, limit);
  const direction = sql.raw(sort === 'rank' || sort.startsWith('-') ? 'desc' : 'asc');
  const rows = await db.execute(sql`
    select case when p.position::text ~ '[eIN]' or p.position::text = '-0' then null
                else row_to_json(x)::text end as json,
           p.sort_value, p.id
    from (${page}) p
    cross join lateral (
      select p.id, p.project_id, p.parent_id, p.title, p.description, p.status, p.priority,
             p.labels, p.assignee_id, ${iso('p.due_at')} as due_at,
             ${iso('p.remind_at')} as remind_at, ${iso('p.completed_at')} as completed_at,
             p.position, p.created_by, ${iso('p.created_at')} as created_at,
             ${iso('p.updated_at')} as updated_at, p.version
    ) x
    order by p.sort_value ${direction}, p.id ${direction}`);
  return resultRows<TaskJsonRow>(rows);
}
