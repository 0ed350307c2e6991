import { type SQL, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { fromDrizzle, fromPglite, type JobResult, PgBoss } from 'pg-boss';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { DatabaseHandle, Executor } from '../db/client.js';
import type { Payload, QueueDefinition, QueueOptions } from './queues.js';

/** What a handler learns about the job besides its payload. */
export interface JobContext {
  id: string;
  /** 0 on the first attempt, then 1, 2, … */
  attempt: number;
  /** Aborted when the job has run past its expiry or this process is shutting down. */
  signal: AbortSignal;
}

export type JobHandler<Q extends QueueDefinition> = (
  payload: Payload<Q>,
  context: JobContext,
) => Promise<unknown>;

export interface SendOptions {
  /** Run no earlier than this. */
  startAfter?: Date;
  /** At most one queued job per key and queue (a later send with the same key is dropped). */
  singletonKey?: string;
  /** The job's group, whose running jobs the queue's `groupConcurrency` bounds. */
  group?: string;
}

export interface JobQueueOptions {
  database: DatabaseHandle;
  config: Config;
  log: FastifyBaseLogger;
}

// pg-boss keeps its tables here, beside (never inside) the application's schema.
const SCHEMA = 'pgboss';
const HOUR = 3600;
const WEEK = 7 * 24 * HOUR;
// A worker that stops sending heartbeats (a killed process) has its job retried this soon.
const HEARTBEAT_SECONDS = 30;
const SUPERVISE_SECONDS = 10;
// pg-boss's own pool on PostgreSQL: fetching, completing and its maintenance.
const POOL_SIZE = 4;

interface Registered {
  queue: QueueDefinition;
  /** The handler, called with a payload that has passed the queue's check. */
  run: (payload: unknown, context: JobContext) => Promise<unknown>;
}

// pg-boss takes a job's data as an object; a payload has passed its queue's check by then. Taking
// it as `unknown` keeps TypeScript from relating a generic payload type to pg-boss's, which costs
// seconds of type-checking.
function jobData(payload: unknown): object {
  return payload as object;
}

function errorOutput(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}

/**
 * The durable job queue: pg-boss in the application's own database (PostgreSQL, or the one
 * embedded PGlite instance), with typed queues. `send()` enqueues inside the caller's
 * transaction, so a job exists exactly when the change that caused it commits.
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #config: Config;
  readonly #log: FastifyBaseLogger;
  readonly #queues = new Map<string, QueueDefinition>();
  readonly #handlers = new Map<string, Registered>();
  readonly #duration: Histogram<'queue'>;
  readonly #failures: Counter<'queue'>;
  readonly #depth: Gauge<'queue'>;
  #started = false;
  #working = false;

  constructor({ database, config, log }: JobQueueOptions) {
    this.#config = config;
    this.#log = log;
    const common = {
      schema: SCHEMA,
      // Supervision (expiring, retrying and purging jobs) and cron run where jobs run.
      supervise: config.workers,
      schedule: config.workers,
      // How often running jobs are checked for a lapsed heartbeat or expiry (a killed process).
      superviseIntervalSeconds: SUPERVISE_SECONDS,
      monitorIntervalSeconds: SUPERVISE_SECONDS,
      // Workers poll (JOB_POLL_INTERVAL_MS). LISTEN/NOTIFY would wake them sooner, but it puts a
      // NOTIFY (which serialises commits) in every transaction that sends a job and holds one
      // more connection per process.
      useListenNotify: false,
      openTelemetry: { enabled: false },
    };
    this.#boss =
      database.pglite !== null
        ? new PgBoss({ ...common, db: fromPglite(database.pglite), backend: 'pglite' })
        : new PgBoss({
            ...common,
            connectionString: database.url ?? undefined,
            max: POOL_SIZE,
            application_name: 'docket-jobs',
          });
    this.#boss.on('error', (error) => this.#log.error({ err: error }, 'job queue error'));

    const registers: Registry[] = [];
    this.#duration = new Histogram({
      name: 'docket_job_duration_seconds',
      help: 'Run time of job attempts by queue, failed ones included',
      labelNames: ['queue'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
    this.#failures = new Counter({
      name: 'docket_job_failures_total',
      help: 'Job attempts that failed, by queue (a failure may still be retried)',
      labelNames: ['queue'] as const,
      registers,
    });
    const depth = (): Promise<Map<string, number>> => this.depth();
    this.#depth = new Gauge({
      name: 'docket_job_queue_depth',
      help: 'Jobs waiting to run (queued or waiting for a retry), by queue',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        this.reset();
        for (const [queue, count] of await depth()) this.set({ queue }, count);
      },
    });
  }

  /** Exports the job metrics (depth, durations, failures by queue) through `registry`. */
  exposeMetrics(registry: Registry): void {
    for (const metric of [this.#duration, this.#failures, this.#depth]) {
      registry.registerMetric(metric);
    }
  }

  /** Declares a queue and the function that runs its jobs. Call before `start()`. */
  register<Q extends QueueDefinition>(queue: Q, handler: JobHandler<Q>): void {
    if (this.#started) throw new Error('register queues before the job queue starts');
    if (this.#queues.has(queue.name)) throw new Error(`queue "${queue.name}" is registered twice`);
    this.#queues.set(queue.name, queue);
    this.#handlers.set(queue.name, {
      queue,
      run: (payload, context) => handler(payload as never, context),
    });
  }

  /** The resolved options of a registered queue. */
  options(queue: QueueDefinition): QueueOptions {
    return queue.options(this.#config);
  }

  /**
   * Installs or migrates pg-boss's schema, creates the queues and their schedules and, when
   * `WORKERS` is on, starts working them.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#boss.start();
    for (const queue of this.#queues.values()) await this.#declare(queue);
    if (this.#config.workers) await this.work();
  }

  async #declare(queue: QueueDefinition): Promise<void> {
    const options = this.options(queue);
    const settings = {
      retryLimit: options.retryLimit,
      retryDelay: options.retryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: options.retryDelayMaxSeconds ?? HOUR,
      expireInSeconds: options.expireInSeconds ?? this.#config.jobTimeoutSeconds,
      deleteAfterSeconds: options.keepFinishedSeconds ?? WEEK,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      notify: false,
    };
    const existing = await this.#boss.getQueue(queue.name);
    if (existing === null) await this.#boss.createQueue(queue.name, settings);
    else await this.#boss.updateQueue(queue.name, settings);
    if (options.cron !== undefined) {
      await this.#boss.schedule(queue.name, options.cron, {}, { tz: 'UTC' });
    }
  }

  /** Starts the workers of every registered queue (done by `start()` when `WORKERS` is on). */
  async work(): Promise<void> {
    if (this.#working) return;
    this.#working = true;
    const pollingIntervalSeconds = this.#config.jobPollIntervalMs / 1000;
    for (const { queue } of this.#handlers.values()) {
      const options = this.options(queue);
      await this.#boss.work(
        queue.name,
        {
          batchSize: options.batchSize ?? 1,
          localConcurrency: options.concurrency ?? 1,
          pollingIntervalSeconds,
          // A full batch means more is waiting: fetch again at once instead of after a poll.
          burstWhenBatchFull: (options.batchSize ?? 1) > 1,
          // Counted in memory: exact within this process. (pg-boss's database-wide count lets
          // pollers that fetch at the same moment overshoot it.)
          ...(options.groupConcurrency === undefined
            ? {}
            : { localGroupConcurrency: options.groupConcurrency }),
          perJobResults: true,
          includeMetadata: true,
        },
        async (jobs) => {
          const results = await Promise.all(
            jobs.map((job) =>
              this.#attempt(
                queue,
                job.data,
                { id: job.id, attempt: job.retryCount, signal: job.signal },
                job.retryCount >= job.retryLimit,
              ),
            ),
          );
          // A notified worker skips its poll delay: more is likely waiting.
          if (options.eager === true && jobs.length > 0) this.wake(queue);
          return results;
        },
      );
    }
  }

  async #attempt(
    queue: QueueDefinition,
    payload: unknown,
    context: JobContext,
    lastAttempt: boolean,
  ): Promise<JobResult> {
    const stop = this.#duration.startTimer({ queue: queue.name });
    try {
      const output = await this.#runHandler(queue, payload, context);
      stop();
      return {
        id: context.id,
        status: 'completed',
        ...(output !== undefined && output !== null && typeof output === 'object'
          ? { output }
          : {}),
      };
    } catch (error) {
      stop();
      this.#failures.inc({ queue: queue.name });
      // A payload the queue cannot read will never succeed: fail it for good at once.
      const invalid = error instanceof InvalidPayloadError;
      const details = {
        err: error,
        queue: queue.name,
        job_id: context.id,
        attempt: context.attempt,
      };
      if (lastAttempt || invalid) this.#log.error(details, 'job failed for good; no retry left');
      else this.#log.warn(details, 'job failed; it will be retried');
      const status = invalid ? 'deadletter' : 'failed';
      return { id: context.id, status, output: errorOutput(error) };
    }
  }

  async #runHandler(
    queue: QueueDefinition,
    payload: unknown,
    context: JobContext,
  ): Promise<unknown> {
    const registered = this.#handlers.get(queue.name);
    if (registered === undefined) throw new Error(`queue "${queue.name}" has no handler`);
    if (!queue.check(payload)) throw new InvalidPayloadError(queue.name);
    return registered.run(payload, context);
  }

  /**
   * Enqueues a job in `tx`, the caller's transaction (or the database itself, committing at
   * once): it is only ever seen by a worker if `tx` commits. Returns the job id.
   */
  async send<Q extends QueueDefinition>(
    tx: Executor,
    queue: Q,
    payload: Payload<Q>,
    options: SendOptions = {},
  ): Promise<string | null> {
    if (!this.#queues.has(queue.name)) throw new Error(`queue "${queue.name}" is not registered`);
    if (!queue.check(payload)) throw new InvalidPayloadError(queue.name);
    return this.#boss.send(queue.name, jobData(payload), {
      db: inTransaction(tx),
      ...jobOptions(options),
    });
  }

  /** Enqueues many jobs of one queue in `tx` with one statement (see `send`). */
  async sendMany<Q extends QueueDefinition>(
    tx: Executor,
    queue: Q,
    jobs: { payload: Payload<Q>; options?: SendOptions }[],
  ): Promise<void> {
    if (jobs.length === 0) return;
    if (!this.#queues.has(queue.name)) throw new Error(`queue "${queue.name}" is not registered`);
    const checked: readonly { payload: unknown; options?: SendOptions }[] = jobs;
    for (const job of checked) {
      if (!queue.check(job.payload)) throw new InvalidPayloadError(queue.name);
    }
    await this.#boss.insert(
      queue.name,
      checked.map((job) => ({ data: jobData(job.payload), ...jobOptions(job.options ?? {}) })),
      { db: inTransaction(tx) },
    );
  }

  /**
   * Wakes this process's workers of `queue` to fetch now rather than at their next poll; call it
   * after the transaction that sent jobs has committed. Nothing happens where jobs are not worked.
   */
  wake(queue: QueueDefinition): void {
    if (!this.#working) return;
    for (const worker of this.#boss.getWipData({ includeInternal: false })) {
      if (worker.name === queue.name) this.#boss.notifyWorker(worker.id);
    }
  }

  /** Test seam: runs a queue's handler on a payload now, in this process, without the queue. */
  async run<Q extends QueueDefinition>(queue: Q, payload: Payload<Q>): Promise<unknown> {
    const controller = new AbortController();
    return this.#runHandler(queue, payload, {
      id: 'direct',
      attempt: 0,
      signal: controller.signal,
    });
  }

  /** A stored job's state and output, for tests and operators. */
  async find(
    queue: QueueDefinition,
    id: string,
  ): Promise<{ state: string; retryCount: number; output: unknown } | null> {
    const [job] = await this.#boss.findJobs(queue.name, { id });
    return job === undefined
      ? null
      : { state: job.state, retryCount: job.retryCount, output: job.output };
  }

  /** Jobs waiting to run (queued or waiting for a retry), by queue name. */
  async depth(): Promise<Map<string, number>> {
    const counts = new Map<string, number>([...this.#queues.keys()].map((name) => [name, 0]));
    if (!this.#started) return counts;
    const { rows } = await this.#boss
      .getDb()
      .executeSql(
        `select name, count(*)::int as depth from ${SCHEMA}.job where state in ('created', 'retry') group by name`,
      );
    for (const row of rows as { name: string; depth: number }[]) counts.set(row.name, row.depth);
    return counts;
  }

  /**
   * Stops fetching, lets running jobs finish for up to `JOB_SHUTDOWN_TIMEOUT_MS`, then fails
   * what is still running so it is retried after a restart.
   */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#boss.stop({ graceful: true, timeout: this.#config.jobShutdownTimeoutMs });
  }
}

function jobOptions(options: SendOptions) {
  return {
    ...(options.startAfter === undefined ? {} : { startAfter: options.startAfter }),
    ...(options.singletonKey === undefined ? {} : { singletonKey: options.singletonKey }),
    ...(options.group === undefined ? {} : { group: { id: options.group } }),
  };
}

/** pg-boss statements run through the caller's drizzle transaction (either driver). */
function inTransaction(tx: Executor) {
  const execute = (query: unknown) => tx.execute(query as SQL) as Promise<{ rows: unknown[] }>;
  return fromDrizzle({ execute }, sql);
}

/** A payload that does not match its queue's schema. */
export class InvalidPayloadError extends Error {
  constructor(queue: string) {
    super(`payload does not match the schema of queue "${queue}"`);
    this.name = 'InvalidPayloadError';
  }
}
