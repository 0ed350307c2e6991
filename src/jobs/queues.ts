import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Config } from '../config.js';

export interface QueueOptions {
  /** Attempts after the first one before the job is marked failed (keeping its last error). */
  retryLimit: number;
  /** Delay before the first retry, in seconds; it doubles with each attempt, with jitter. */
  retryDelaySeconds: number;
  /** Longest delay between two attempts, in seconds. Default: one hour. */
  retryDelayMaxSeconds?: number;
  /**
   * A job still running after this long counts as crashed (its process was killed) and is
   * retried. Default: `JOB_TIMEOUT_SECONDS`.
   */
  expireInSeconds?: number;
  /** How long a finished (completed or failed) job is kept, in seconds. Default: 7 days. */
  keepFinishedSeconds?: number;
  /** A cron expression (UTC): one job per tick across all instances. */
  cron?: string;
  /** Jobs fetched per poll; they run concurrently. Default 1. */
  batchSize?: number;
  /** Pollers per process. Default 1. */
  concurrency?: number;
  /** At most this many jobs of one group (`SendOptions.group`) run at once in each process. */
  groupConcurrency?: number;
  /**
   * Fetch again at once after any job, not only after a full batch: for queues whose fetches
   * come back short by design (`groupConcurrency`, or batches of one). Default false.
   */
  eager?: boolean;
}

export interface QueueDefinition<S extends TSchema = TSchema> {
  readonly name: string;
  readonly schema: S;
  /** The options, resolved against the configuration at start-up. */
  options(config: Config): QueueOptions;
  /** Whether a value is a valid payload for this queue. */
  check(payload: unknown): payload is Static<S>;
}

export type Payload<Q extends QueueDefinition> = Static<Q['schema']>;

const QUEUE_NAME = /^[a-z][a-z0-9_.-]{0,49}$/;

/**
 * Declares a queue: its name, the TypeBox schema of its payload and its retry policy. Payloads
 * are checked when they are sent and again when they are run, so a bad one fails loudly where
 * it is made rather than somewhere in a worker.
 */
export function defineQueue<S extends TSchema>(
  name: string,
  schema: S,
  options: QueueOptions | ((config: Config) => QueueOptions),
): QueueDefinition<S> {
  if (!QUEUE_NAME.test(name)) throw new Error(`invalid queue name "${name}"`);
  const validator = Compile(schema);
  return {
    name,
    schema,
    options: typeof options === 'function' ? options : () => options,
    check: (payload: unknown): payload is Static<S> => validator.Check(payload),
  };
}
