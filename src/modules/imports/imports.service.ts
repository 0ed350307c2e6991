import { CsvError, parse } from 'csv-parse/sync';
import type { Database, Executor } from '../../db/client.js';
import type { ImportFormat, ImportUploadRow, UserJobRow } from '../../db/schema/index.js';
import { importQueue, TRANSFER_RETRY_LIMIT } from '../../jobs/exports.js';
import type { JobContext, JobQueue } from '../../jobs/job-queue.js';
import type { Payload } from '../../jobs/queues.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { unstorableTextPaths } from '../../lib/validation.js';
import { insertEvents } from '../activity/events.repository.js';
import { insertComments } from '../comments/comments.repository.js';
import { toCommentPublic } from '../comments/comments.service.js';
import { JOB_ROW_ERRORS_MAX } from '../jobs/jobs.schemas.js';
import type { UserJobsService } from '../jobs/jobs.service.js';
import { findRole } from '../projects/projects.repository.js';
import { requireRole } from '../projects/roles.js';
import { insertTasks, type NewTask } from '../tasks/tasks.repository.js';
import { toTaskPublic } from '../tasks/tasks.service.js';
import { planDocketCsv } from './docket-csv.js';
import { planDocketJson, readDocketExport } from './docket-json.js';
import type { ImportPlan, PlannedTask } from './import-plan.js';
import { deleteUpload, findUpload, insertUpload, memberIdsByEmail } from './imports.repository.js';
import { isTodoistHeader, planTodoistCsv } from './todoist-csv.js';

type ImportPayload = Payload<typeof importQueue>;

// Rows per insert: tasks have 17 columns, well under PostgreSQL's 65 535 parameters.
const BATCH = 500;

const CSV_OPTIONS = { bom: true, relax_column_count: true, skip_empty_lines: false } as const;

export interface ImportResult extends Record<string, unknown> {
  format: ImportFormat;
  tasks: number;
  comments: number;
  skipped_rows: number;
  ignored_dates: number;
}

function refused(detail: string, code: string): AppError {
  return new AppError('validation_failed', detail, {
    errors: [{ location: 'body', field: 'header', message: detail, code }],
  });
}

/** Editors and above import: checked when the upload comes and again when the job applies it. */
async function requireImporter(tx: Executor, projectId: string, userId: string): Promise<void> {
  requireRole(await findRole(tx, projectId, userId), 'editor', 'project_not_found', 'import tasks');
}

/**
 * Which of the accepted formats a file is: Docket's JSON export when it is sent as JSON, else
 * one of the CSV formats by its header row.
 */
export function detectImportFormat(content: string, json = false): ImportFormat {
  if (json) {
    const file = readDocketExport(content);
    if (typeof file === 'string') throw refused(file, 'unknown_format');
    // Escaped in the JSON (`\u0000`), they pass the request's own check; the database refuses them.
    const unstorable = unstorableTextPaths(file);
    if (unstorable.length > 0) {
      throw new AppError('validation_failed', 'The export holds text that cannot be stored.', {
        errors: unstorable.map((field) => ({
          location: 'body' as const,
          field,
          message: 'must not contain the NUL character (U+0000) or a lone UTF-16 surrogate',
          code: 'invalid_character',
        })),
      });
    }
    return 'docket_json';
  }
  let header: string[] | undefined;
  try {
    [header] = parse(content, { ...CSV_OPTIONS, to_line: 1 });
  } catch (error) {
    if (error instanceof CsvError)
      throw refused(`The header row is not valid CSV: ${error.message}`, 'malformed_csv');
    throw error;
  }
  if (header === undefined || header.every((name) => name.trim() === '')) {
    throw refused('The file is empty; its first row must name the columns.', 'missing');
  }
  if (isTodoistHeader(header)) return 'todoist_csv';
  if (header.some((name) => name.trim().toLowerCase() === 'title')) return 'docket_csv';
  throw refused(
    'The header row is neither Docket’s task CSV (a `title` column) nor Todoist’s CSV ' +
      'template export (`TYPE` and `CONTENT` columns).',
    'unknown_format',
  );
}

/**
 * Imports of tasks from CSV: the upload is stored and a user-followed job checks every row
 * first, then applies all of them in one transaction, or none with a report of the refused rows.
 */
export class ImportsService {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly jobs: JobQueue;
  private readonly userJobs: UserJobsService;

  constructor(deps: { db: Database; clock: Clock; jobs: JobQueue; userJobs: UserJobsService }) {
    this.db = deps.db;
    this.clock = deps.clock;
    this.jobs = deps.jobs;
    this.userJobs = deps.userJobs;
  }

  /** Editors and above; the file's header must name one of the accepted formats (else 422). */
  async start(
    userId: string,
    projectId: string,
    content: string,
    json = false,
  ): Promise<UserJobRow> {
    return this.db.transaction(async (tx) => {
      await requireImporter(tx, projectId, userId);
      const format = detectImportFormat(content, json);
      const job = await this.userJobs.create(tx, userId, 'import');
      const uploadId = newId();
      await insertUpload(tx, { id: uploadId, jobId: job.id, userId, projectId, format, content });
      await this.jobs.send(tx, importQueue, { job_id: job.id, upload_id: uploadId });
      return job;
    });
  }

  /** The import queue's handler. */
  async run(payload: ImportPayload, context: JobContext): Promise<ImportResult | null> {
    const upload = await findUpload(this.db, payload.upload_id);
    // Already done by an earlier attempt that lost its acknowledgement.
    if (upload === null) return null;
    try {
      return await this.apply(upload, context);
    } catch (error) {
      const permanent = error instanceof AppError;
      if (permanent || context.attempt >= TRANSFER_RETRY_LIMIT) {
        await deleteUpload(this.db, upload.id);
        await this.userJobs.update(upload.jobId, {
          status: 'failed',
          error: permanent
            ? { code: error.code, message: error.message }
            : {
                code: 'import_failed',
                message: 'The import could not be applied; nothing was changed.',
              },
        });
      }
      if (permanent) return null;
      throw error;
    }
  }

  private plan(upload: ImportUploadRow, members: Map<string, string>): ImportPlan {
    if (upload.format === 'docket_json') return planDocketJson(upload.content, members);
    let records: string[][];
    try {
      records = parse(upload.content, CSV_OPTIONS);
    } catch (error) {
      if (!(error instanceof CsvError)) throw error;
      const lines = typeof error.lines === 'number' ? error.lines : 1;
      return {
        tasks: [],
        comments: [],
        errors: [
          {
            row: lines,
            column: null,
            code: 'malformed_csv',
            message: error.message.slice(0, 1000),
          },
        ],
        skippedRows: 0,
        ignoredDates: 0,
      };
    }
    return upload.format === 'todoist_csv'
      ? planTodoistCsv(records)
      : planDocketCsv(records, members);
  }

  private async apply(upload: ImportUploadRow, context: JobContext): Promise<ImportResult | null> {
    const { jobId, userId, projectId } = upload;
    await this.userJobs.update(jobId, { status: 'running', progress: 0 });
    const members = await memberIdsByEmail(this.db, projectId);
    const plan = this.plan(upload, members);
    if (plan.errors.length > 0) {
      const count = plan.errors.length;
      await deleteUpload(this.db, upload.id);
      await this.userJobs.update(jobId, {
        status: 'failed',
        error: {
          code: 'import_invalid',
          message: `${count} ${count === 1 ? 'row was' : 'rows were'} refused; nothing was imported.`,
          rows: plan.errors.slice(0, JOB_ROW_ERRORS_MAX),
          row_error_count: count,
        },
      });
      return null;
    }
    await this.userJobs.update(jobId, { progress: 50 });
    context.signal.throwIfAborted();

    return this.db.transaction(async (tx) => {
      await requireImporter(tx, projectId, userId);
      const ids = await this.insertPlan(tx, plan, userId, projectId);
      await deleteUpload(tx, upload.id);
      const result: ImportResult = {
        format: upload.format,
        tasks: ids.size,
        comments: plan.comments.length,
        skipped_rows: plan.skippedRows,
        ignored_dates: plan.ignoredDates,
      };
      await this.userJobs.update(jobId, { status: 'succeeded', result }, tx);
      return result;
    });
  }

  /** Inserts the tasks (parents first) and comments with their events; returns ref → task id. */
  private async insertPlan(
    tx: Executor,
    plan: ImportPlan,
    userId: string,
    projectId: string,
  ): Promise<Map<string, string>> {
    const now = this.clock.now();
    const ids = new Map(plan.tasks.map((task) => [task.ref, newId()]));
    // Tasks without a position follow each other in file order, after what is already there.
    const fileOrder = [...plan.tasks].sort((a, b) => a.row - b.row);
    const defaultPosition = new Map(
      fileOrder.map((task, index) => [task.ref, now.getTime() + index]),
    );
    // A file's series key becomes the new id of the row it names, else one new id per key.
    const series = new Map<string, string>();
    const seriesOf = (task: PlannedTask, id: string): string | null => {
      if (task.seriesRef == null) return task.recurrence == null ? null : id;
      let found = series.get(task.seriesRef);
      if (found === undefined) {
        found = ids.get(`id:${task.seriesRef}`) ?? newId();
        series.set(task.seriesRef, found);
      }
      return found;
    };
    const rows: NewTask[] = plan.tasks.map((task) => ({
      id: ids.get(task.ref) as string,
      projectId,
      parentId: task.parentRef === null ? null : (ids.get(task.parentRef) ?? null),
      title: task.title,
      description: task.description,
      status: task.status,
      priority: task.priority,
      labels: task.labels,
      assigneeId: task.assigneeId,
      dueAt: task.dueAt,
      remindAt: task.remindAt,
      // A reminder whose time passed before the import is history, not one to send now (an
      // exported project would otherwise mail every past reminder again); later ones are fired
      // by the reminder sweeper when they fall due.
      reminderSentAt: task.remindAt !== null && task.remindAt <= now ? now : null,
      recurrence: task.recurrence ?? null,
      timezone: task.timezone ?? null,
      seriesId: seriesOf(task, ids.get(task.ref) as string),
      completedAt: task.status === 'done' ? (task.completedAt ?? now) : null,
      position: task.position ?? (defaultPosition.get(task.ref) as number),
      createdBy: userId,
    }));
    for (let start = 0; start < rows.length; start += BATCH) {
      const inserted = await insertTasks(tx, rows.slice(start, start + BATCH));
      await insertEvents(
        tx,
        inserted.map((task) => ({
          type: 'task.created' as const,
          projectId,
          actorId: userId,
          entityId: task.id,
          data: toTaskPublic(task),
        })),
      );
    }
    for (let start = 0; start < plan.comments.length; start += BATCH) {
      const inserted = await insertComments(
        tx,
        plan.comments.slice(start, start + BATCH).map((comment) => ({
          id: newId(),
          taskId: ids.get(comment.taskRef) as string,
          authorId: userId,
          body: comment.body,
        })),
      );
      await insertEvents(
        tx,
        inserted.map((comment) => ({
          type: 'comment.created' as const,
          projectId,
          actorId: userId,
          entityId: comment.id,
          data: toCommentPublic(comment),
        })),
      );
    }
    return ids;
  }
}
