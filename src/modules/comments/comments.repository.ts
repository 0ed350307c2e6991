import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type CommentRow, comments, projectMembers, tasks } from '../../db/schema/index.js';
import type { Role } from '../projects/roles.js';

export type CommentWithAccess = CommentRow & { projectId: string; role: Role };

export async function findCommentForUser(
  db: Executor,
  commentId: string,
  userId: string,
): Promise<CommentWithAccess | null> {
  const [row] = await db
    .select({ comment: comments, projectId: tasks.projectId, role: projectMembers.role })
    .from(comments)
    .innerJoin(tasks, eq(tasks.id, comments.taskId))
    .innerJoin(
      projectMembers,
      and(eq(projectMembers.projectId, tasks.projectId), eq(projectMembers.userId, userId)),
    )
    .where(eq(comments.id, commentId))
    .limit(1);
  return row ? { ...row.comment, projectId: row.projectId, role: row.role } : null;
}

/** A page of a task's comments in id (creation) order, `limit + 1` rows; `comments_task_idx` serves it. */
export function buildCommentListQuery(
  db: Executor,
  taskId: string,
  afterId: string | null,
  limit: number,
) {
  return db
    .select()
    .from(comments)
    .where(
      and(eq(comments.taskId, taskId), afterId === null ? undefined : gt(comments.id, afterId)),
    )
    .orderBy(asc(comments.id))
    .limit(limit + 1);
}

export async function listComments(
  db: Executor,
  taskId: string,
  afterId: string | null,
  limit: number,
): Promise<CommentRow[]> {
  return buildCommentListQuery(db, taskId, afterId, limit);
}

export async function insertComment(
  tx: Executor,
  comment: Pick<CommentRow, 'id' | 'taskId' | 'authorId' | 'body'>,
): Promise<CommentRow> {
  const [row] = await tx.insert(comments).values(comment).returning();
  if (row === undefined) throw new Error('comment insert returned nothing');
  return row;
}

/** Many comments in one statement (an import). */
export async function insertComments(
  tx: Executor,
  rows: (typeof comments.$inferInsert)[],
): Promise<CommentRow[]> {
  if (rows.length === 0) return [];
  return tx.insert(comments).values(rows).returning();
}

export async function updateComment(
  tx: Executor,
  commentId: string,
  body: string,
  expectedVersion: number | undefined,
): Promise<CommentRow | null> {
  const [row] = await tx
    .update(comments)
    .set({ body, version: sql`${comments.version} + 1`, updatedAt: sql`now()` })
    .where(
      and(
        eq(comments.id, commentId),
        expectedVersion === undefined ? undefined : eq(comments.version, expectedVersion),
      ),
    )
    .returning();
  return row ?? null;
}

export async function deleteComment(
  tx: Executor,
  commentId: string,
  expectedVersion: number | undefined,
): Promise<boolean> {
  const rows = await tx
    .delete(comments)
    .where(
      and(
        eq(comments.id, commentId),
        expectedVersion === undefined ? undefined : eq(comments.version, expectedVersion),
      ),
    )
    .returning({ id: comments.id });
  return rows.length > 0;
}
