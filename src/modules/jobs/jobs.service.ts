import type { Database, Executor } from '../../db/client.js';
import type { JobStatus, UserJobError, UserJobRow } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { JobPublic } from './jobs.schemas.js';
import { findUserJob, insertUserJob, updateUserJob } from './jobs.repository.js';

export interface UserJobUpdate {
  status?: JobStatus;
  progress?: number;
  result?: Record<string, unknown>;
  error?: UserJobError;
}

export function toJobPublic(job: UserJobRow): JobPublic {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    progress: job.progress,
    ...(job.result === null ? {} : { result: job.result }),
    ...(job.error === null ? {} : { error: job.error }),
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    finished_at: job.finishedAt?.toISOString() ?? null,
  };
}

/**
 * The jobs users can follow (`GET /jobs/{id}`). A feature that starts background work on a
 * user's behalf creates one in the transaction that queues the work, and its handler reports
 * progress and the outcome here.
 */
export class UserJobsService {
  private readonly db: Database;
  private readonly clock: Clock;

  constructor({ db, clock }: { db: Database; clock: Clock }) {
    this.db = db;
    this.clock = clock;
  }

  /** A new `queued` job of `userId`; pass the transaction that queues the work. */
  async create(tx: Executor, userId: string, kind: string): Promise<UserJobRow> {
    return insertUserJob(tx, { id: newId(), userId, kind });
  }

  /** Records progress or the outcome; `succeeded` and `failed` also stamp `finished_at`. */
  async update(id: string, update: UserJobUpdate, tx: Executor = this.db): Promise<UserJobRow> {
    if (update.progress !== undefined && !(update.progress >= 0 && update.progress <= 100)) {
      throw new RangeError('progress is a percentage from 0 to 100');
    }
    const finished = update.status === 'succeeded' || update.status === 'failed';
    const row = await updateUserJob(tx, id, {
      ...update,
      ...(update.status === 'succeeded' ? { progress: 100 } : {}),
      ...(finished ? { finishedAt: this.clock.now() } : {}),
    });
    if (row === null) throw new AppError('job_not_found');
    return row;
  }

  /** One of the caller's own jobs; anyone else's is 404, as if it did not exist. */
  async get(userId: string, id: string): Promise<UserJobRow> {
    const job = await findUserJob(this.db, userId, id);
    if (job === null) throw new AppError('job_not_found');
    return job;
  }
}
