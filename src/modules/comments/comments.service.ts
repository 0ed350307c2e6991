import type { Database } from '../../db/client.js';
import type { CommentRow } from '../../db/schema/index.js';
import { AppError } from '../../lib/errors.js';
import { preconditionFailed } from '../../lib/etag.js';
import { newId } from '../../lib/ids.js';
import { cursorUuid, decodeCursor, encodeCursor, type Page, toPage } from '../../lib/pagination.js';
import { insertEvent } from '../activity/events.repository.js';
import { atLeast, requireRole } from '../projects/roles.js';
import { findTaskForUser } from '../tasks/tasks.repository.js';
import {
  deleteComment,
  findCommentForUser,
  insertComment,
  listComments,
  updateComment,
} from './comments.repository.js';
import type { CommentListQuery, CommentPublic } from './comments.schemas.js';

export function toCommentPublic(comment: CommentRow): CommentPublic {
  return {
    id: comment.id,
    task_id: comment.taskId,
    author_id: comment.authorId,
    body: comment.body,
    created_at: comment.createdAt.toISOString(),
    updated_at: comment.updatedAt.toISOString(),
    version: comment.version,
  };
}

export class CommentsService {
  private readonly db: Database;

  constructor({ db }: { db: Database }) {
    this.db = db;
  }

  async list(
    userId: string,
    taskId: string,
    query: CommentListQuery,
  ): Promise<Page<CommentPublic>> {
    const task = await findTaskForUser(this.db, taskId, userId);
    if (task === null) throw new AppError('task_not_found');
    const limit = query.limit ?? 50;
    const after =
      query.cursor === undefined ? null : cursorUuid(decodeCursor('comments', query.cursor)[0]);
    const rows = await listComments(this.db, taskId, after, limit);
    return toPage(rows, limit, toCommentPublic, (row) => encodeCursor('comments', [row.id]));
  }

  async create(userId: string, taskId: string, body: string): Promise<CommentRow> {
    return this.db.transaction(async (tx) => {
      const task = await findTaskForUser(tx, taskId, userId);
      requireRole(task?.role ?? null, 'editor', 'task_not_found', 'comment');
      const comment = await insertComment(tx, { id: newId(), taskId, authorId: userId, body });
      await insertEvent(tx, {
        type: 'comment.created',
        projectId: task?.projectId ?? '',
        actorId: userId,
        entityId: comment.id,
        data: { task_id: taskId, body },
      });
      return comment;
    });
  }

  async update(
    userId: string,
    commentId: string,
    body: string,
    expectedVersion: number | undefined,
  ): Promise<CommentRow> {
    return this.db.transaction(async (tx) => {
      const comment = await findCommentForUser(tx, commentId, userId);
      if (comment === null) throw new AppError('comment_not_found');
      if (comment.authorId !== userId || !atLeast(comment.role, 'editor')) {
        throw new AppError('forbidden', 'Only its author (still an editor) may edit a comment.');
      }
      const updated = await updateComment(tx, commentId, body, expectedVersion);
      if (updated === null) throw preconditionFailed();
      await insertEvent(tx, {
        type: 'comment.updated',
        projectId: comment.projectId,
        actorId: userId,
        entityId: commentId,
        data: { task_id: comment.taskId, body },
      });
      return updated;
    });
  }

  async delete(
    userId: string,
    commentId: string,
    expectedVersion: number | undefined,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      const comment = await findCommentForUser(tx, commentId, userId);
      if (comment === null) throw new AppError('comment_not_found');
      if (comment.authorId !== userId && !atLeast(comment.role, 'admin')) {
        throw new AppError('forbidden', 'Only its author or a project admin may delete a comment.');
      }
      if (!(await deleteComment(tx, commentId, expectedVersion))) throw preconditionFailed();
      await insertEvent(tx, {
        type: 'comment.deleted',
        projectId: comment.projectId,
        actorId: userId,
        entityId: commentId,
        data: { task_id: comment.taskId },
      });
    });
  }
}
