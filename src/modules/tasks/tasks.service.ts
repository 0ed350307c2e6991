import type { Database, Executor } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { preconditionFailed } from '../../lib/etag.js';
import { newId } from '../../lib/ids.js';
import {
  cursorUuid,
  decodeCursor,
  encodeCursor,
  type Page,
  pageLimit,
  toPage,
} from '../../lib/pagination.js';
import { listEtag, listNotModified } from '../../lib/list-etag.js';
import {
  prepareFindRoleAndVersion,
  prepareMemberVersionsDigest,
} from '../projects/project-versions.repository.js';
import { commentIdsOfTasks, insertEvent, scrubCommentText } from '../activity/events.repository.js';
import { findRole } from '../projects/projects.repository.js';
import { type Role, requireRole } from '../projects/roles.js';
import {
  deleteTask,
  findTaskForUser,
  hasSubtasks,
  insertTask,
  isAncestorOrSelf,
  listTaskJson,
  listTaskJsonWithAccess,
  listTasks,
  prepareFindTaskForUser,
  prepareFindTaskJsonForUser,
  subtaskIds,
  type TaskChanges,
  type TaskFilters,
  type TaskJsonRow,
  type TaskKeyset,
  type TaskWithRole,
  updateTask,
} from './tasks.repository.js';
import type { TaskRow } from '../../db/schema/index.js';
import type { RemindersService } from '../reminders/reminders.service.js';
import {
  checkedRecurrence,
  checkedTimezone,
  nextOccurrenceOf,
  seriesChanges,
} from './task-series.js';
import type {
  TaskCreate,
  TaskListQuery,
  TaskPublic,
  TaskSort,
  TaskUpdate,
} from './tasks.schemas.js';

export function toTaskPublic(task: TaskRow): TaskPublic {
  return {
    id: task.id,
    project_id: task.projectId,
    parent_id: task.parentId,
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    labels: task.labels,
    assignee_id: task.assigneeId,
    due_at: task.dueAt?.toISOString() ?? null,
    remind_at: task.remindAt?.toISOString() ?? null,
    recurrence: task.recurrence,
    timezone: task.timezone,
    series_id: task.seriesId,
    completed_at: task.completedAt?.toISOString() ?? null,
    position: task.position,
    created_by: task.createdBy,
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
    version: task.version,
  };
}

function invalid(field: string, message: string, code = 'invalid_value'): AppError {
  return new AppError('validation_failed', `${field} ${message}.`, {
    errors: [{ location: 'body', field, message, code }],
  });
}

const date = (value: string | null | undefined): Date | null | undefined =>
  value === undefined ? undefined : value === null ? null : new Date(value);

const isOpen = (status: TaskRow['status']): boolean =>
  status === 'todo' || status === 'in_progress';
/**
 * A list answer: its weak `ETag`, and the page — `null` when `If-None-Match` named the current
 * tag (answer 304), a string when it is already serialised (send as is), else an object for
 * the route's serialiser.
 */
export interface TaskListAnswer {
  etag: string;
  page: string | Page<TaskPublic> | null;
}

export interface TaskListOptions {
  /** The request's `If-None-Match`. */
  ifNoneMatch?: string | undefined;
  /**
   * `false` builds the page as objects for the schema's serialiser instead of taking the text
   * PostgreSQL serialised (the equivalence test compares the two).
   */
  preSerialised?: boolean;
}

function sortValueOf(value: unknown): string | number | null {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || value === null) return value;
  throw new Error(`unexpected sort value ${typeof value}`);
}

/**
 * The digest of each caller's projects' versions as last read, for at most `maxAgeMs`: a page
 * across projects asked for without `If-None-Match` is tagged with it instead of computing it
 * again with the page (for a caller in hundreds of projects, most of that statement's cost).
 *
 * Nothing needs invalidating. A digest read before the page it tags is what the versions-first
 * path does anyway: the tag is never newer than the page, so if anything changed in between, the
 * digest has moved on and the tag, sent back, gets a 200 (a client fetches at most one page more
 * than it needed). A 304 is only ever answered against a digest read in that same request.
 */
export class RecentDigests {
  private readonly entries = new Map<string, { versions: string; readAt: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxAgeMs = 1_000,
    private readonly maxEntries = 10_000,
  ) {}

  get(userId: string): string | null {
    const entry = this.entries.get(userId);
    if (entry === undefined) return null;
    if (this.clock.now().getTime() - entry.readAt > this.maxAgeMs) {
      this.entries.delete(userId);
      return null;
    }
    return entry.versions;
  }

  set(userId: string, versions: string): void {
    // Entries are small and short-lived; the bound only stops an unbounded number of callers.
    if (this.entries.size >= this.maxEntries && !this.entries.has(userId)) this.entries.clear();
    this.entries.set(userId, { versions, readAt: this.clock.now().getTime() });
  }
}

export class TasksService {
  private readonly recentDigests: RecentDigests;
  private readonly findForUser: ReturnType<typeof prepareFindTaskForUser>;
  private readonly findJsonForUser: ReturnType<typeof prepareFindTaskJsonForUser>;
  private readonly findRoleAndVersion: ReturnType<typeof prepareFindRoleAndVersion>;
  private readonly memberVersions: ReturnType<typeof prepareMemberVersionsDigest>;

  private readonly db: Database;
  private readonly clock: Clock;
  private readonly reminders: RemindersService;

  constructor({
    db,
    clock,
    reminders,
  }: {
    db: Database;
    clock: Clock;
    reminders: RemindersService;
  }) {
    this.db = db;
    this.clock = clock;
    this.reminders = reminders;
    this.recentDigests = new RecentDigests(clock);
    this.findForUser = prepareFindTaskForUser(db);
    this.findJsonForUser = prepareFindTaskJsonForUser(db);
    this.findRoleAndVersion = prepareFindRoleAndVersion(db);
    this.memberVersions = prepareMemberVersionsDigest(db);
  }

  async get(userId: string, taskId: string): Promise<TaskWithRole> {
    const [task] = await this.findForUser.execute({ taskId, userId });
    if (task === undefined) throw new AppError('task_not_found');
    return task;
  }

  /**
   * A task as it is sent: its stored JSON text, or (when PostgreSQL could not print its position
   * as JavaScript does) the row, to serialise the ordinary way; with the version its tag names.
   */
  async getPublic(
    userId: string,
    taskId: string,
  ): Promise<{ version: number; json: string } | { version: number; task: TaskWithRole }> {
    const [found] = await this.findJsonForUser.execute({ taskId, userId });
    if (found === undefined) throw new AppError('task_not_found');
    if (found.json !== null) return { version: found.version, json: found.json };
    const task = await this.get(userId, taskId);
    return { version: task.version, task };
  }

  /** The parent must be visible (else 404) and in the same project (else 422). */
  private async checkParent(
    tx: Executor,
    userId: string,
    parentId: string,
    projectId: string,
  ): Promise<void> {
    const parent = await findTaskForUser(tx, parentId, userId);
    if (parent === null) throw new AppError('task_not_found', 'The parent task was not found.');
    if (parent.projectId !== projectId)
      throw invalid('parent_id', 'must be a task of the same project');
  }

  private async checkAssignee(tx: Executor, assigneeId: string, projectId: string): Promise<void> {
    if ((await findRole(tx, projectId, assigneeId)) === null) {
      throw invalid('assignee_id', 'must be a member of the project', 'not_a_member');
    }
  }

  async create(userId: string, projectId: string, input: TaskCreate): Promise<TaskRow> {
    return this.db.transaction(async (tx) => {
      requireRole(
        await findRole(tx, projectId, userId),
        'editor',
        'project_not_found',
        'add tasks',
      );
      if (input.parent_id != null) await this.checkParent(tx, userId, input.parent_id, projectId);
      if (input.assignee_id != null) await this.checkAssignee(tx, input.assignee_id, projectId);
      const status = input.status ?? 'todo';
      const now = this.clock.now();
      const id = newId();
      const dueAt = date(input.due_at) ?? null;
      const remindAt = date(input.remind_at) ?? null;
      const timezone = input.timezone == null ? null : checkedTimezone(input.timezone);
      const recurrence =
        input.recurrence == null
          ? null
          : checkedRecurrence(input.recurrence, timezone, dueAt ?? remindAt);
      const task = await insertTask(tx, {
        id,
        projectId,
        parentId: input.parent_id ?? null,
        title: input.title,
        description: input.description ?? '',
        status,
        priority: input.priority ?? 'none',
        labels: input.labels ?? [],
        assigneeId: input.assignee_id ?? null,
        dueAt,
        remindAt,
        recurrence,
        timezone,
        seriesId: recurrence === null ? null : id,
        completedAt: status === 'done' ? now : null,
        position: input.position ?? now.getTime(),
        createdBy: userId,
      });
      await insertEvent(tx, {
        type: 'task.created',
        projectId,
        actorId: userId,
        entityId: task.id,
        data: toTaskPublic(task),
      });
      if (remindAt !== null && isOpen(status)) await this.reminders.plan(tx, task.id, remindAt);
      return task;
    });
  }

  async update(
    userId: string,
    taskId: string,
    input: TaskUpdate,
    expectedVersion: number | undefined,
  ): Promise<TaskRow> {
    return this.db.transaction(async (tx) => {
      const current = await findTaskForUser(tx, taskId, userId, true);
      if (current === null) throw new AppError('task_not_found');
      requireRole(current.role, 'editor', 'task_not_found', 'change tasks');
      if (expectedVersion !== undefined && expectedVersion !== current.version)
        throw preconditionFailed();

      const projectId = input.project_id ?? current.projectId;
      const moving = projectId !== current.projectId;
      if (moving) {
        requireRole(
          await findRole(tx, projectId, userId),
          'editor',
          'project_not_found',
          'add tasks',
        );
        if (await hasSubtasks(tx, taskId)) {
          throw new AppError(
            'conflict',
            'Move or detach the subtasks of this task before moving it.',
          );
        }
        if (current.parentId !== null && input.parent_id === undefined) {
          throw invalid(
            'parent_id',
            'must be set (null or a task of the target project) to move a subtask',
          );
        }
      }
      const parentId = input.parent_id === undefined ? current.parentId : input.parent_id;
      if (input.parent_id != null) {
        await this.checkParent(tx, userId, input.parent_id, projectId);
        if (await isAncestorOrSelf(tx, input.parent_id, taskId)) {
          throw invalid('parent_id', 'would make the task its own ancestor', 'cycle');
        }
      }
      const assigneeId = input.assignee_id === undefined ? current.assigneeId : input.assignee_id;
      if (assigneeId !== null && (moving || input.assignee_id !== undefined)) {
        await this.checkAssignee(tx, assigneeId, projectId);
      }

      const changes: TaskChanges = {};
      if (input.title !== undefined) changes.title = input.title;
      if (input.description !== undefined) changes.description = input.description;
      if (input.priority !== undefined) changes.priority = input.priority;
      if (input.labels !== undefined) changes.labels = input.labels;
      if (input.assignee_id !== undefined) changes.assigneeId = input.assignee_id;
      if (input.due_at !== undefined) changes.dueAt = date(input.due_at) ?? null;
      if (input.remind_at !== undefined) changes.remindAt = date(input.remind_at) ?? null;
      const remindAt = changes.remindAt === undefined ? current.remindAt : changes.remindAt;
      const remindMoved = remindAt?.getTime() !== current.remindAt?.getTime();
      // A new reminder time is a new reminder, whether or not the old one went out.
      if (remindMoved) changes.reminderSentAt = null;
      Object.assign(changes, seriesChanges(input, current, changes));
      if (input.position !== undefined) changes.position = input.position;
      if (input.parent_id !== undefined) changes.parentId = parentId;
      if (moving) changes.projectId = projectId;
      if (input.status !== undefined && input.status !== current.status) {
        changes.status = input.status;
        if (input.status === 'done') changes.completedAt = this.clock.now();
        else if (current.status === 'done') changes.completedAt = null;
      }

      const completing = changes.status === 'done';
      const recurring = changes.recurrence === undefined ? current.recurrence : changes.recurrence;
      // The rule moves on to the next occurrence, so reopening this one cannot fork the series.
      if (completing && recurring !== null) changes.recurrence = null;

      const updated = await updateTask(tx, taskId, changes, expectedVersion);
      if (updated === null) throw preconditionFailed();
      const task = toTaskPublic(updated);
      const reopened =
        changes.status !== undefined && isOpen(changes.status) && !isOpen(current.status);
      if (
        updated.remindAt !== null &&
        updated.reminderSentAt === null &&
        isOpen(updated.status) &&
        (remindMoved || reopened)
      ) {
        await this.reminders.plan(tx, taskId, updated.remindAt);
      }
      if (moving) {
        // Both projects hear of it; the source's members may not see the target, so not the task.
        const moved = { id: taskId, from_project_id: current.projectId, to_project_id: projectId };
        await insertEvent(tx, {
          type: 'task.moved',
          projectId: current.projectId,
          actorId: userId,
          entityId: taskId,
          data: { ...moved, task: null },
        });
        await insertEvent(tx, {
          type: 'task.moved',
          projectId,
          actorId: userId,
          entityId: taskId,
          data: { ...moved, task },
        });
      } else {
        await insertEvent(tx, {
          type: changes.status === 'done' ? 'task.completed' : 'task.updated',
          projectId,
          actorId: userId,
          entityId: taskId,
          data: task,
        });
      }
      if (completing && recurring !== null)
        await this.createNextOccurrence(tx, userId, updated, recurring);
      return updated;
    });
  }

  /**
   * The occurrence after `done` of its series, in the completing transaction: due (and
   * reminded) as `rule` says in the task's time zone, with the rule handed on. None when the
   * series has ended.
   */
  private async createNextOccurrence(
    tx: Executor,
    userId: string,
    done: TaskRow,
    rule: string,
  ): Promise<void> {
    const next = nextOccurrenceOf(done, rule, newId(), this.clock.now().getTime());
    if (next === null) return;
    const task = await insertTask(tx, next);
    await insertEvent(tx, {
      type: 'task.created',
      projectId: task.projectId,
      actorId: userId,
      entityId: task.id,
      data: toTaskPublic(task),
    });
    if (task.remindAt !== null) await this.reminders.plan(tx, task.id, task.remindAt);
  }

  async delete(userId: string, taskId: string, expectedVersion: number | undefined): Promise<void> {
    await this.db.transaction(async (tx) => {
      const current = await findTaskForUser(tx, taskId, userId, true);
      if (current === null) throw new AppError('task_not_found');
      requireRole(current.role, 'editor', 'task_not_found', 'delete tasks');
      const subtasks = await subtaskIds(tx, taskId);
      const commentIds = await commentIdsOfTasks(tx, [taskId, ...subtasks]);
      // Subtasks and comments go with the task (ON DELETE CASCADE).
      if (!(await deleteTask(tx, taskId, expectedVersion))) throw preconditionFailed();
      await scrubCommentText(tx, commentIds);
      await insertEvent(tx, {
        type: 'task.deleted',
        projectId: current.projectId,
        actorId: userId,
        entityId: taskId,
        data: { id: taskId, subtask_ids: subtasks },
      });
    });
  }

  /** The page as JSON text from rows PostgreSQL serialised; `null` when one row could not be. */
  private serialisedPage(rows: TaskJsonRow[], limit: number, cursorKind: string): string | null {
    if (!rows.every((row) => row.json !== null)) return null;
    const kept = rows.length > limit ? rows.slice(0, limit) : rows;
    const last = kept[kept.length - 1];
    const next =
      rows.length > limit && last !== undefined
        ? JSON.stringify(encodeCursor(cursorKind, [sortValueOf(last.sort_value), last.id]))
        : 'null';
    return `{"items":[${kept.map((row) => row.json).join(',')}],"next_cursor":${next}}`;
  }

  /**
   * A page of tasks. The versions of the projects it covers are read (with the caller's role)
   * before the page, so its tag is never newer than its content: a tag that still matches
   * `ifNoneMatch` means nothing in those projects changed, and the page query is not run.
   */
  async list(
    userId: string,
    projectId: string | null,
    query: TaskListQuery,
    { ifNoneMatch, preSerialised = true }: TaskListOptions = {},
  ): Promise<TaskListAnswer> {
    const scope = projectId ?? query.project_id ?? null;
    const sort: TaskSort = query.sort ?? 'created_at';
    if (sort === 'rank' && query.q === undefined) {
      throw new AppError('validation_failed', 'sort=rank needs q.', {
        errors: [
          { location: 'query', field: 'sort', message: 'rank needs q', code: 'invalid_value' },
        ],
      });
    }
    const limit = pageLimit(query);
    const cursorKind = `tasks:${sort}:${query.q ?? ''}`;
    let after: TaskKeyset | null = null;
    if (query.cursor !== undefined) {
      const [value, id] = decodeCursor(cursorKind, query.cursor);
      if (!(typeof value === 'string' || typeof value === 'number' || value === null)) {
        throw new AppError('invalid_cursor');
      }
      if (
        typeof value === 'string' &&
        sort !== 'priority' &&
        sort !== '-priority' &&
        Number.isNaN(Date.parse(value))
      ) {
        throw new AppError('invalid_cursor');
      }
      after = { value, id: cursorUuid(id) };
    }
    const filters: TaskFilters = {
      projectId: scope,
      userId,
      statuses: query.status,
      priorities: query.priority,
      assigneeId: query.assignee_id === 'me' ? userId : query.assignee_id,
      labels: query.label,
      dueBefore: query.due_before === undefined ? undefined : new Date(query.due_before),
      dueAfter: query.due_after === undefined ? undefined : new Date(query.due_after),
      q: query.q,
      parentId: query.parent_id,
      updatedSince: query.updated_since === undefined ? undefined : new Date(query.updated_since),
    };
    const tag = (versions: string) => listEtag('tasks', userId, { scope, query }, versions);
    const versionsOf = (access: { role: Role | null; version: string | number | null }) => {
      if (scope === null) return String(access.version ?? '');
      requireRole(access.role, 'viewer', 'project_not_found', 'see it');
      return `${scope}:${access.version ?? 0}`;
    };

    let etag: string;
    if (ifNoneMatch === undefined && preSerialised) {
      // Nothing to compare. Across projects, a digest read for this caller within the last
      // second (so before this page) tags it and only the page is read (see `RecentDigests`);
      // otherwise the caller's access, the versions and the page come in one statement, so one
      // snapshot (the tag is exactly as new as the page) and one round trip.
      const recent = scope === null ? this.recentDigests.get(userId) : null;
      let rows: TaskJsonRow[];
      if (recent !== null) {
        etag = tag(recent);
        rows = await listTaskJson(this.db, filters, sort, after, limit);
      } else {
        const read = await listTaskJsonWithAccess(this.db, filters, sort, after, limit);
        const versions = versionsOf(read.access);
        if (scope === null) this.recentDigests.set(userId, versions);
        etag = tag(versions);
        rows = read.rows;
      }
      const page = this.serialisedPage(rows, limit, cursorKind);
      if (page !== null) return { etag, page };
    } else {
      // The versions first: a tag is never newer than the page read after it, and while it
      // still matches, the page is not read at all.
      if (scope !== null) {
        const [found] = await this.findRoleAndVersion.execute({ projectId: scope, userId });
        etag = tag(versionsOf({ role: found?.role ?? null, version: found?.changeVersion ?? 0 }));
      } else {
        const [found] = await this.memberVersions.execute({ userId });
        const versions = versionsOf({ role: null, version: found?.digest ?? '' });
        this.recentDigests.set(userId, versions);
        etag = tag(versions);
      }
      if (listNotModified(ifNoneMatch, etag)) return { etag, page: null };
      if (preSerialised) {
        const rows = await listTaskJson(this.db, filters, sort, after, limit);
        const page = this.serialisedPage(rows, limit, cursorKind);
        if (page !== null) return { etag, page };
      }
    }
    const page = await listTasks(this.db, filters, sort, after, limit);
    return {
      etag,
      page: toPage(page, limit, toTaskPublic, (row) =>
        encodeCursor(cursorKind, [sortValueOf(row.sortValue), row.id]),
      ),
    };
  }
}
