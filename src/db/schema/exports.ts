import {
  bigint,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';
import { userJobs } from './jobs.js';
import { projects } from './tasks.js';
import { users } from './users.js';

/** Raw bytes: postgres-js reads a Buffer, PGlite a Uint8Array; both take either. */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
});

export const EXPORT_FORMATS = ['json', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * A finished or half-written export of one project, downloadable by the user who asked for it
 * until `expires_at`. The bytes live in `export_chunks`, so any instance can serve them.
 */
export const exportFiles = pgTable(
  'export_files',
  {
    id: uuid('id').primaryKey(),
    jobId: uuid('job_id').references(() => userJobs.id, { onDelete: 'set null' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // The export goes with its project: no copy of a deleted project's data is kept.
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    format: text('format', { enum: EXPORT_FORMATS }).notNull(),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    /** Bytes in all chunks; final once `completed_at` is set. */
    size: bigint('size', { mode: 'number' }).notNull().default(0),
    chunkCount: integer('chunk_count').notNull().default(0),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    /** Null while the job is still writing it: not downloadable yet. */
    completedAt: timestamptz('completed_at'),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (table) => [
    index('export_files_expires_idx').on(table.expiresAt),
    index('export_files_job_idx').on(table.jobId),
  ],
);

/** The bytes of an export, about 1 MiB per row, read back in `seq` order. */
export const exportChunks = pgTable(
  'export_chunks',
  {
    fileId: uuid('file_id')
      .notNull()
      .references(() => exportFiles.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (table) => [primaryKey({ columns: [table.fileId, table.seq] })],
);

export const IMPORT_FORMATS = ['docket_csv', 'todoist_csv', 'docket_json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** An uploaded file waiting for its import job; deleted when the job ends. */
export const importUploads = pgTable(
  'import_uploads',
  {
    id: uuid('id').primaryKey(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => userJobs.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    format: text('format', { enum: IMPORT_FORMATS }).notNull(),
    content: text('content').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [
    index('import_uploads_job_idx').on(table.jobId),
    index('import_uploads_created_idx').on(table.createdAt),
  ],
);

export type ExportFileRow = typeof exportFiles.$inferSelect;
export type ImportUploadRow = typeof importUploads.$inferSelect;
