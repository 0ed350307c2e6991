import { check, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { timestamps, timestamptz } from './columns.js';
import { users } from './users.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** One refused row of an uploaded file (an import), 1-based as a spreadsheet numbers rows. */
export interface JobRowError {
  row: number;
  column: string | null;
  code: string;
  message: string;
}

export interface UserJobError {
  code: string;
  message: string;
  /** Rows of an uploaded file that were refused (the first ones, capped). */
  rows?: JobRowError[];
  /** How many rows were refused in all. */
  row_error_count?: number;
}

/**
 * Background work a user asked for and may follow (exports, imports): its status, progress
 * and outcome. The queue's own bookkeeping lives in pg-boss's schema; this is what users see.
 */
export const userJobs = pgTable(
  'jobs',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** What the job does, e.g. `export`. */
    kind: text('kind').notNull(),
    status: text('status', { enum: JOB_STATUSES }).notNull().default('queued'),
    /** Percent done, 0 to 100. */
    progress: integer('progress').notNull().default(0),
    result: jsonb('result').$type<Record<string, unknown>>(),
    error: jsonb('error').$type<UserJobError>(),
    /** Grows with every change, for the ETag. */
    version: integer('version').notNull().default(1),
    ...timestamps,
    finishedAt: timestamptz('finished_at'),
  },
  (table) => [
    index('jobs_user_idx').on(table.userId, table.createdAt),
    index('jobs_finished_idx').on(table.finishedAt),
    check('jobs_progress_range', sql`${table.progress} between 0 and 100`),
  ],
);

export type UserJobRow = typeof userJobs.$inferSelect;
