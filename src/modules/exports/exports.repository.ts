import { and, asc, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import {
  type CommentRow,
  comments,
  type ExportFileRow,
  exportChunks,
  exportFiles,
  type TaskRow,
  tasks,
  users,
} from '../../db/schema/index.js';
import { taskColumns } from '../tasks/tasks.repository.js';

export type ExportTaskRow = TaskRow & { assigneeEmail: string | null };

export async function countProjectTasks(db: Executor, projectId: string): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(tasks)
    .where(eq(tasks.projectId, projectId));
  return row?.count ?? 0;
}

/** Where the previous page of tasks ended. */
export interface TaskPageKey {
  createdAt: Date;
  id: string;
}

/** A project's tasks after `after` in (created_at, id) order. */
function taskPageWhere(projectId: string, after: TaskPageKey | null): SQL | undefined {
  return and(
    eq(tasks.projectId, projectId),
    after === null
      ? undefined
      : sql`(${tasks.createdAt}, ${tasks.id}) > (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`,
  );
}

/**
 * One page of a project's tasks in (created_at, id) order, after `after`; the
 * `tasks_project_created_idx` index serves every page at the same cost.
 */
export async function listTaskPage(
  db: Executor,
  projectId: string,
  after: TaskPageKey | null,
  limit: number,
): Promise<ExportTaskRow[]> {
  return db
    .select({ ...taskColumns, assigneeEmail: users.email })
    .from(tasks)
    .leftJoin(users, eq(users.id, tasks.assigneeId))
    .where(taskPageWhere(projectId, after))
    .orderBy(asc(tasks.createdAt), asc(tasks.id))
    .limit(limit);
}

/**
 * The ids of one page of a project's tasks, in the order and with the keys of `listTaskPage`:
 * what the JSON export's comment pass needs, without reading every task's row a second time.
 */
export async function listTaskIdPage(
  db: Executor,
  projectId: string,
  after: TaskPageKey | null,
  limit: number,
): Promise<TaskPageKey[]> {
  return db
    .select({ id: tasks.id, createdAt: tasks.createdAt })
    .from(tasks)
    .where(taskPageWhere(projectId, after))
    .orderBy(asc(tasks.createdAt), asc(tasks.id))
    .limit(limit);
}

/** The comments of some tasks in (task_id, id) order, a page at a time (`comments_task_idx`). */
export async function listCommentPage(
  db: Executor,
  taskIds: string[],
  after: { taskId: string; id: string } | null,
  limit: number,
): Promise<CommentRow[]> {
  if (taskIds.length === 0) return [];
  return db
    .select()
    .from(comments)
    .where(
      and(
        inArray(comments.taskId, taskIds),
        after === null
          ? undefined
          : sql`(${comments.taskId}, ${comments.id}) > (${after.taskId}::uuid, ${after.id}::uuid)`,
      ),
    )
    .orderBy(asc(comments.taskId), asc(comments.id))
    .limit(limit);
}

export async function insertExportFile(
  db: Executor,
  file: typeof exportFiles.$inferInsert,
): Promise<ExportFileRow> {
  const [row] = await db.insert(exportFiles).values(file).returning();
  if (row === undefined) throw new Error('export file not inserted');
  return row;
}

/** A file a failed attempt of this job left half-written (its chunks go with it). */
export async function deleteUnfinishedExports(db: Executor, jobId: string): Promise<void> {
  await db
    .delete(exportFiles)
    .where(and(eq(exportFiles.jobId, jobId), isNull(exportFiles.completedAt)));
}

export async function insertChunk(
  db: Executor,
  fileId: string,
  seq: number,
  data: Uint8Array,
): Promise<void> {
  await db.insert(exportChunks).values({ fileId, seq, data });
}

export async function completeExportFile(
  db: Executor,
  id: string,
  done: { size: number; chunkCount: number; completedAt: Date; expiresAt: Date },
): Promise<ExportFileRow> {
  const [row] = await db.update(exportFiles).set(done).where(eq(exportFiles.id, id)).returning();
  if (row === undefined) throw new Error('export file vanished');
  return row;
}

/** A finished export of `userId`; anyone else's, or one still being written, is null. */
export async function findFinishedExport(
  db: Executor,
  userId: string,
  id: string,
): Promise<ExportFileRow | null> {
  const [row] = await db.select().from(exportFiles).where(eq(exportFiles.id, id)).limit(1);
  return row !== undefined && row.userId === userId && row.completedAt !== null ? row : null;
}

export async function readChunk(
  db: Executor,
  fileId: string,
  seq: number,
): Promise<Uint8Array | null> {
  const [row] = await db
    .select({ data: exportChunks.data })
    .from(exportChunks)
    .where(and(eq(exportChunks.fileId, fileId), eq(exportChunks.seq, seq)));
  return row?.data ?? null;
}
