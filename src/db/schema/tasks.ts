import { type SQL, sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  uuid,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';
import { timestamps, timestamptz } from './columns.js';
import { users } from './users.js';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
/** A 64-bit transaction id (never wraps), read as its decimal text. */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

// Enum order is the sort order: `sort=priority` orders none < low < … < urgent.
export const memberRole = pgEnum('member_role', ['viewer', 'editor', 'admin', 'owner']);
export const taskStatus = pgEnum('task_status', ['todo', 'in_progress', 'done', 'canceled']);
export const taskPriority = pgEnum('task_priority', ['none', 'low', 'medium', 'high', 'urgent']);

export const projects = pgTable('projects', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  color: text('color'),
  archived: boolean('archived').notNull().default(false),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  version: integer('version').notNull().default(1),
  ...timestamps,
});

/**
 * Each project's change version, bumped (by triggers, see the `project_versions` migrations) in
 * the same transaction as any change to the project, its members, tasks, comments or events:
 * list ETags are built from it. A table of its own, narrow and with no index on the version, so
 * a bump is a heap-only update of a tiny row and a digest over a user's projects reads a few
 * pages instead of the wide `projects` rows.
 */
export const projectVersions = pgTable('project_versions', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  changeVersion: bigint('change_version', { mode: 'number' }).notNull().default(1),
});

export const projectMembers = pgTable(
  'project_members',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: memberRole('role').notNull(),
    ...timestamps,
  },
  (table) => [
    primaryKey({ columns: [table.projectId, table.userId] }),
    index('project_members_user_idx').on(table.userId, table.projectId),
  ],
);

export const tasks = pgTable(
  'tasks',
  {
    id: uuid('id').primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id').references((): AnyPgColumn => tasks.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    status: taskStatus('status').notNull().default('todo'),
    priority: taskPriority('priority').notNull().default('none'),
    labels: text('labels')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    dueAt: timestamptz('due_at'),
    remindAt: timestamptz('remind_at'),
    /** When the reminder for the current `remind_at` fired; cleared whenever `remind_at` changes. */
    reminderSentAt: timestamptz('reminder_sent_at'),
    /** An RFC 5545 RRULE value (`FREQ=WEEKLY;BYDAY=MO`), without `RRULE:` or `DTSTART`. */
    recurrence: text('recurrence'),
    /** IANA time zone the recurrence (and an all-day due date) is read in; null means UTC. */
    timezone: text('timezone'),
    /** The occurrences of one recurring task share it (the first occurrence's id). */
    seriesId: uuid('series_id'),
    completedAt: timestamptz('completed_at'),
    position: doublePrecision('position').notNull().default(0),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    version: integer('version').notNull().default(1),
    ...timestamps,
    /**
     * The task as `TaskPublicSchema` serialises it, written by the `tasks_public_json` trigger on
     * every insert and update (whatever the writer sets is replaced), so a list page is its rows'
     * text joined; null when PostgreSQL would print the position other than JavaScript does.
     */
    publicJson: text('public_json'),
    search: tsvector('search').generatedAlwaysAs(
      (): SQL =>
        sql`setweight(to_tsvector('simple', ${tasks.title}), 'A') || setweight(to_tsvector('simple', ${tasks.description}), 'B')`,
    ),
  },
  (table) => [
    index('tasks_project_created_idx').on(table.projectId, table.createdAt, table.id),
    index('tasks_project_updated_idx').on(table.projectId, table.updatedAt, table.id),
    index('tasks_project_due_idx').on(table.projectId, table.dueAt, table.id),
    index('tasks_project_priority_idx').on(table.projectId, table.priority, table.id),
    index('tasks_project_position_idx').on(table.projectId, table.position, table.id),
    index('tasks_parent_idx').on(table.parentId),
    index('tasks_assignee_idx').on(table.assigneeId, table.createdAt, table.id),
    // Project first (btree_gin), so a label or word filter inside one project reads only its rows.
    index('tasks_project_labels_idx').using('gin', table.projectId, table.labels),
    index('tasks_project_search_idx').using('gin', table.projectId, table.search),
    // Across projects, the planner picks between walking the newest tasks in order and
    // intersecting the label or word index, whichever the statistics say is cheaper.
    index('tasks_labels_idx').using('gin', table.labels),
    index('tasks_search_idx').using('gin', table.search),
    index('tasks_created_idx').on(table.createdAt, table.id),
    // The reminder sweeper's scan: only reminders still to send on open tasks.
    index('tasks_reminder_due_idx')
      .on(table.remindAt)
      .where(
        sql`${table.reminderSentAt} is null and ${table.remindAt} is not null and ${table.status} in ('todo', 'in_progress')`,
      ),
    index('tasks_series_idx').on(table.seriesId),
  ],
);

export const comments = pgTable(
  'comments',
  {
    id: uuid('id').primaryKey(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    authorId: uuid('author_id').references(() => users.id, { onDelete: 'set null' }),
    body: text('body').notNull(),
    version: integer('version').notNull().default(1),
    ...timestamps,
  },
  (table) => [index('comments_task_idx').on(table.taskId, table.id)],
);

/**
 * The activity log and outbox: every change writes one row in the same transaction.
 * No foreign keys, so the history outlives what it describes (a deleted project's events stay).
 * `seq` is numbered at insert, so it is not commit order; `(txid, seq)` below the oldest running
 * transaction is a position no later commit can land behind (the event relay reads by it).
 */
export const events = pgTable(
  'events',
  {
    id: uuid('id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    txid: xid8('txid')
      .notNull()
      .default(sql`pg_current_xact_id()`),
    type: text('type').notNull(),
    projectId: uuid('project_id'),
    actorId: uuid('actor_id'),
    entityId: uuid('entity_id').notNull(),
    data: jsonb('data').notNull().default({}),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [
    // The activity list: one project, newest first by seq.
    index('events_project_seq_idx').on(table.projectId, table.seq),
    // The relay's commit-order cursor.
    index('events_txid_seq_idx').on(table.txid, table.seq),
    // Scrubbing a comment's text from its earlier events.
    index('events_entity_idx').on(table.entityId),
  ],
);

export type ProjectRow = typeof projects.$inferSelect;
export type ProjectMemberRow = typeof projectMembers.$inferSelect;
// The search vector is an index input and the public JSON a list page's text: neither is read
// back as a row.
export type TaskRow = Omit<typeof tasks.$inferSelect, 'search' | 'publicJson'>;
export type CommentRow = typeof comments.$inferSelect;
export type EventRow = typeof events.$inferSelect;
