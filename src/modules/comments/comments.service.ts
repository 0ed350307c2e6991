import type { Database } from '../../db/client.js';
import type { CommentRow } from '../../db/schema/index.js';
import { AppError } from '../../lib/errors.js';
import { preconditionFailed } from '../../lib/etag.js';
import { newId } from '../../lib/ids.js';
import { listEtag, listNotModified } from '../../lib/list-etag.js';
import { decodeCursor, pageByKey } from '../../lib/pagination.js';
import type { ListAnswer } from '../activity/activity.service.js';
import { prepareTaskRoleAndVersion } from '../projects/project-versions.repository.js';
import { insertEvent, scrubCommentText } from '../activity/events.repository.js';
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
  private readonly findTaskRoleAndVersion: ReturnType<typeof prepareTaskRoleAndVersion>;

  constructor({ db }: { db: Database }) {
    this.db = db;
    this.findTaskRoleAndVersion = prepareTaskRoleAndVersion(db);
  }

  /** Comments are written with a bump of their task's project version, read before them. */
  async list(
    userId: string,
    taskId: string,
    query: CommentListQuery,
    ifNoneMatch?: string,
  ): Promise<ListAnswer<CommentPublic>> {
    const [task] = await this.findTaskRoleAndVersion.execute({ taskId, userId });
    if (task === undefined) throw new AppError('task_not_found');
    const etag = listEtag(
      'comments',
      userId,
      { taskId, query },
      `${task.projectId}:${task.changeVersion}`,
    );
    if (listNotModified(ifNoneMatch, etag)) {
      // A cursor this API did not issue is still refused, as on a 200.
      if (query.cursor !== undefined) decodeCursor('comments', query.cursor);
      return { etag, page: null };
    }
    const page = await pageByKey(
      'comments',
      query,
      (after, limit) => listComments(this.db, taskId, after, limit),
      toCommentPublic,
      (row) => row.id,
    );
    return { etag, page };
  }

  async create(userId: string, taskId: string, body: string): Promise<CommentRow> {
    return this.db.transaction(async (tx) => {
      const task = await findTaskForUser(tx, taskId, userId);
      if (task === null) throw new AppError('task_not_found');
      requireRole(task.role, 'editor', 'task_not_found', 'comment');
      const comment = await insertComment(tx, { id: newId(), taskId, authorId: userId, body });
      await insertEvent(tx, {
        type: 'comment.created',
        projectId: task.projectId,
        actorId: userId,
        entityId: comment.id,
        data: toCommentPublic(comment),
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
      await scrubCommentText(tx, [commentId]);
      await insertEvent(tx, {
        type: 'comment.updated',
        projectId: comment.projectId,
        actorId: userId,
        entityId: commentId,
        data: toCommentPublic(updated),
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
      await scrubCommentText(tx, [commentId]);
      await insertEvent(tx, {
        type: 'comment.deleted',
        projectId: comment.projectId,
        actorId: userId,
        entityId: commentId,
        data: { id: commentId, task_id: comment.taskId },
      });
    });
  }
}
