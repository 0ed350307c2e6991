import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import type { ExportFileRow, ExportFormat, UserJobRow } from '../../db/schema/index.js';
import { exportQueue, TRANSFER_RETRY_LIMIT } from '../../jobs/exports.js';
import type { JobContext, JobQueue } from '../../jobs/job-queue.js';
import type { Payload } from '../../jobs/queues.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { toCommentPublic } from '../comments/comments.service.js';
import type { UserJobsService } from '../jobs/jobs.service.js';
import { listMembers } from '../projects/members.repository.js';
import { toMemberPublic } from '../projects/members.service.js';
import { findProjectForUser, findRole } from '../projects/projects.repository.js';
import { toProjectEventData } from '../projects/projects.service.js';
import { requireRole } from '../projects/roles.js';
import { toTaskPublic } from '../tasks/tasks.service.js';
import { ChunkWriter } from './chunk-writer.js';
import {
  completeExportFile,
  countProjectTasks,
  deleteUnfinishedExports,
  type ExportTaskRow,
  findFinishedExport,
  insertExportFile,
  listCommentPage,
  listTaskIdPage,
  listTaskPage,
  readChunk,
  type TaskPageKey,
} from './exports.repository.js';
import { TASK_CSV_COLUMNS, taskCsvRecord } from './task-csv.js';

/** How long a finished export can be downloaded. */
export const EXPORT_TTL_DAYS = 7;
const DAY_MS = 86_400_000;
/** Rows read per query: memory holds one page, whatever the project's size. */
const PAGE = 500;

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

/** The JSON export's `format` and `version`: a reader can tell what it holds. */
export const EXPORT_JSON_FORMAT = 'docket.project-export';
export const EXPORT_JSON_VERSION = 1;

type ExportPayload = Payload<typeof exportQueue>;

export interface ExportResult extends Record<string, unknown> {
  export_id: string;
  download_url: string;
  format: ExportFormat;
  filename: string;
  size: number;
  tasks: number;
  comments: number;
  expires_at: string;
}

/** An ASCII file name, safe in a `Content-Disposition` header without escaping. */
function fileName(projectName: string, format: ExportFormat, at: Date): string {
  const slug =
    projectName
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50)
      .replace(/-+$/, '') || 'project';
  const day = at.toISOString().slice(0, 10);
  return `docket-${slug}-${day}.${format}`;
}

/** Reports percent done only when it changes, so a large export writes ~100 updates. */
class ProgressReporter {
  #last = 0;

  constructor(
    private readonly report: (progress: number) => Promise<unknown>,
    private readonly total: number,
  ) {}

  /** `done` of `total` units, mapped into `[from, to)` percent. */
  async at(done: number, from: number, to: number): Promise<void> {
    const share = this.total === 0 ? 1 : Math.min(done / this.total, 1);
    const percent = Math.min(99, Math.floor(from + share * (to - from)));
    if (percent <= this.#last) return;
    this.#last = percent;
    await this.report(percent);
  }
}

/**
 * Project exports: a user-followed job builds the file into the database in bounded memory
 * (one page of rows and one chunk at a time), and its owner downloads it for 7 days.
 */
export class ExportsService {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly jobs: JobQueue;
  private readonly userJobs: UserJobsService;
  private readonly snapshotReads: boolean;

  constructor(deps: {
    db: Database;
    config: Config;
    clock: Clock;
    jobs: JobQueue;
    userJobs: UserJobsService;
  }) {
    this.db = deps.db;
    // PGlite has a single connection, which the chunk writes need while the reads go on.
    this.snapshotReads = deps.config.databaseUrl !== null;
    this.clock = deps.clock;
    this.jobs = deps.jobs;
    this.userJobs = deps.userJobs;
  }

  /** Any member may export; the job is queued in the same transaction that creates it. */
  async start(userId: string, projectId: string, format: ExportFormat): Promise<UserJobRow> {
    return this.db.transaction(async (tx) => {
      requireRole(await findRole(tx, projectId, userId), 'viewer', 'project_not_found', 'see it');
      const job = await this.userJobs.create(tx, userId, 'export');
      await this.jobs.send(tx, exportQueue, {
        job_id: job.id,
        user_id: userId,
        project_id: projectId,
        format,
      });
      return job;
    });
  }

  /** The export queue's handler. */
  async run(payload: ExportPayload, context: JobContext): Promise<ExportResult | null> {
    try {
      return await this.build(payload, context);
    } catch (error) {
      if (error instanceof AppError) {
        // Nothing a retry would change (the member left, the project is gone).
        await deleteUnfinishedExports(this.db, payload.job_id);
        await this.userJobs.update(payload.job_id, {
          status: 'failed',
          error: { code: error.code, message: error.message },
        });
        return null;
      }
      if (context.attempt >= TRANSFER_RETRY_LIMIT) {
        await this.userJobs.update(payload.job_id, {
          status: 'failed',
          error: { code: 'export_failed', message: 'The export could not be built; try again.' },
        });
      }
      throw error;
    }
  }

  private async build(payload: ExportPayload, context: JobContext): Promise<ExportResult> {
    const { job_id: jobId, user_id: userId, project_id: projectId, format } = payload;
    const project = await findProjectForUser(this.db, projectId, userId);
    if (project === null) {
      throw new AppError(
        'project_not_found',
        'The project is gone, or you are no longer a member.',
      );
    }
    await this.userJobs.update(jobId, { status: 'running', progress: 0 });
    await deleteUnfinishedExports(this.db, jobId);
    const total = await countProjectTasks(this.db, projectId);
    const started = this.clock.now();
    const file = await insertExportFile(this.db, {
      id: newId(),
      jobId,
      userId,
      projectId,
      format,
      filename: fileName(project.name, format, started),
      contentType: EXPORT_CONTENT_TYPES[format],
      expiresAt: new Date(started.getTime() + EXPORT_TTL_DAYS * DAY_MS),
    });
    const writer = new ChunkWriter(this.db, file.id);
    const progress = new ProgressReporter(
      (percent) => this.userJobs.update(jobId, { progress: percent }),
      total,
    );
    const counts = await this.readConsistently((reader) =>
      format === 'csv'
        ? this.writeCsv(reader, writer, projectId, progress, context.signal)
        : this.writeJson(reader, writer, project, progress, context.signal),
    );
    const { size, chunkCount } = await writer.end();
    const finishedAt = this.clock.now();
    const finished = await completeExportFile(this.db, file.id, {
      size,
      chunkCount,
      completedAt: finishedAt,
      expiresAt: new Date(finishedAt.getTime() + EXPORT_TTL_DAYS * DAY_MS),
    });
    const result: ExportResult = {
      export_id: finished.id,
      download_url: `/api/v1/exports/${finished.id}/download`,
      format,
      filename: finished.filename,
      size,
      ...counts,
      expires_at: finished.expiresAt.toISOString(),
    };
    await this.userJobs.update(jobId, { status: 'succeeded', result });
    return result;
  }

  /**
   * Runs the export's reads in one read-only REPEATABLE READ transaction on PostgreSQL, so the
   * file shows the project at one moment while the chunks are written on other connections. On
   * PGlite each page is read as it comes, so changes made meanwhile may show.
   */
  private async readConsistently<T>(work: (reader: Executor) => Promise<T>): Promise<T> {
    if (!this.snapshotReads) return work(this.db);
    return this.db.transaction(work, {
      isolationLevel: 'repeatable read',
      accessMode: 'read only',
    });
  }

  /** Every task of the project, a page at a time, in (created_at, id) order. */
  private taskPages(
    reader: Executor,
    projectId: string,
    signal: AbortSignal,
  ): AsyncGenerator<ExportTaskRow[]> {
    return this.pages(listTaskPage, reader, projectId, signal);
  }

  private async *pages<Row extends TaskPageKey>(
    list: (
      db: Executor,
      projectId: string,
      after: TaskPageKey | null,
      limit: number,
    ) => Promise<Row[]>,
    reader: Executor,
    projectId: string,
    signal: AbortSignal,
  ): AsyncGenerator<Row[]> {
    let after: TaskPageKey | null = null;
    for (;;) {
      signal.throwIfAborted();
      const page = await list(reader, projectId, after, PAGE);
      if (page.length > 0) yield page;
      if (page.length < PAGE) return;
      const last = page[page.length - 1] as Row;
      after = { createdAt: last.createdAt, id: last.id };
    }
  }

  private async writeCsv(
    reader: Executor,
    writer: ChunkWriter,
    projectId: string,
    progress: ProgressReporter,
    signal: AbortSignal,
  ): Promise<{ tasks: number; comments: number }> {
    const options = { record_delimiter: 'windows' } as const;
    await writer.write(stringify([[...TASK_CSV_COLUMNS]], options));
    let written = 0;
    for await (const page of this.taskPages(reader, projectId, signal)) {
      // A row at a time: small strings die young, where a page's one big string would not.
      for (const task of page) {
        await writer.write(stringify([taskCsvRecord(task, task.assigneeEmail)], options));
      }
      written += page.length;
      await progress.at(written, 0, 100);
    }
    return { tasks: written, comments: 0 };
  }

  private async writeJson(
    reader: Executor,
    writer: ChunkWriter,
    project: Parameters<typeof toProjectEventData>[0],
    progress: ProgressReporter,
    signal: AbortSignal,
  ): Promise<{ tasks: number; comments: number }> {
    const head = {
      format: EXPORT_JSON_FORMAT,
      version: EXPORT_JSON_VERSION,
      exported_at: this.clock.now().toISOString(),
      project: toProjectEventData(project),
    };
    // The object is written by hand around its arrays, which are streamed a page at a time.
    await writer.write(`${JSON.stringify(head).slice(0, -1)},\n"members":[`);
    let separator = '\n';
    let afterUser: string | null = null;
    for (;;) {
      const members = await listMembers(reader, project.id, afterUser, PAGE);
      const page = members.slice(0, PAGE);
      for (const member of page) {
        await writer.write(separator + JSON.stringify(toMemberPublic(member)));
        separator = ',\n';
      }
      if (members.length <= PAGE) break;
      afterUser = page[page.length - 1]?.userId ?? null;
    }

    await writer.write('\n],\n"tasks":[');
    separator = '\n';
    let tasks = 0;
    for await (const page of this.taskPages(reader, project.id, signal)) {
      for (const task of page) {
        await writer.write(separator + JSON.stringify(toTaskPublic(task)));
        separator = ',\n';
      }
      tasks += page.length;
      await progress.at(tasks, 0, 50);
    }

    // A second pass over the tasks' ids collects their comments, a page of tasks at a time.
    await writer.write('\n],\n"comments":[');
    separator = '\n';
    let comments = 0;
    let seen = 0;
    for await (const page of this.pages(listTaskIdPage, reader, project.id, signal)) {
      const taskIds = page.map((task) => task.id);
      let after: { taskId: string; id: string } | null = null;
      for (;;) {
        const batch = await listCommentPage(reader, taskIds, after, PAGE);
        if (batch.length > 0) {
          for (const comment of batch) {
            await writer.write(separator + JSON.stringify(toCommentPublic(comment)));
            separator = ',\n';
          }
          comments += batch.length;
        }
        if (batch.length < PAGE) break;
        const last = batch[batch.length - 1];
        if (last === undefined) break;
        after = { taskId: last.taskId, id: last.id };
      }
      seen += page.length;
      await progress.at(seen, 50, 100);
    }
    await writer.write('\n]}\n');
    return { tasks, comments };
  }

  /**
   * A finished export of the caller, while still a member of its project, as a stream of its
   * chunks; anyone else's is 404.
   */
  async download(
    userId: string,
    exportId: string,
  ): Promise<{ file: ExportFileRow; stream: Readable }> {
    const file = await findFinishedExport(this.db, userId, exportId);
    // A member who has left the project since no longer takes its data away.
    if (file === null || (await findRole(this.db, file.projectId, userId)) === null) {
      throw new AppError('export_not_found');
    }
    if (file.expiresAt.getTime() <= this.clock.now().getTime()) {
      throw new AppError('export_expired', 'This export has expired; start a new one.');
    }
    return { file, stream: Readable.from(this.chunks(file)) };
  }

  private async *chunks(file: ExportFileRow): AsyncGenerator<Buffer> {
    for (let seq = 0; seq < file.chunkCount; seq += 1) {
      const data = await readChunk(this.db, file.id, seq);
      if (data === null) throw new Error(`export ${file.id} lost chunk ${seq}`);
      yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    }
  }
}
