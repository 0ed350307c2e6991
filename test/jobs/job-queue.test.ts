import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, testConfig } from '../../src/config.js';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { InvalidPayloadError, type JobHandler, JobQueue } from '../../src/jobs/job-queue.js';
import { defineQueue } from '../../src/jobs/queues.js';
import { waitFor } from '../helpers/redis-server.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';

const Item = Type.Object({ n: Type.Integer() });
const log = pino({ level: 'silent' });

let database: DatabaseHandle;
let testDb: TestDatabase | null = null;
let config: Config;
const queues: JobQueue[] = [];

beforeAll(async () => {
  testDb = (await postgresAvailable()) ? await createTestDatabase() : null;
  config = testConfig({
    databaseUrl: testDb?.url ?? null,
    jobPollIntervalMs: 500,
    jobShutdownTimeoutMs: 1000,
  });
  database = await openDatabase({ url: config.databaseUrl, poolSize: 4 });
  await database.migrate();
});
afterAll(async () => {
  for (const queue of queues) await queue.stop();
  await database.close();
  await testDb?.drop();
});

/** A started queue with one test queue of its own, so tests do not see each other's jobs. */
async function startQueue<Q extends ReturnType<typeof defineQueue<typeof Item>>>(
  queue: Q,
  handler: JobHandler<Q>,
): Promise<JobQueue> {
  const jobs = new JobQueue({ database, config, log });
  jobs.register(queue, handler);
  await jobs.start();
  queues.push(jobs);
  return jobs;
}

let counter = 0;
function testQueue(options: Partial<Parameters<typeof defineQueue>[2]> = {}) {
  counter += 1;
  return defineQueue(`test-${counter}`, Item, {
    retryLimit: 0,
    retryDelaySeconds: 1,
    ...options,
  });
}

describe('job queue', () => {
  it('when a job is sent in a transaction that rolls back, then it never runs; committed, it runs once', async () => {
    const queue = testQueue();
    const seen: number[] = [];
    const jobs = await startQueue(queue, async ({ n }) => {
      seen.push(n);
    });
    await database.db
      .transaction(async (tx) => {
        await jobs.send(tx, queue, { n: 1 });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const id = await database.db.transaction((tx) => jobs.send(tx, queue, { n: 2 }));
    await waitFor(async () => (await jobs.find(queue, id!))?.state === 'completed', 'the job');
    expect(seen).toEqual([2]);
    expect(await jobs.find(queue, id!)).toMatchObject({ state: 'completed', retryCount: 0 });
  });

  it('when a handler keeps failing, then it is retried up to the limit and the failed job keeps its error', async () => {
    const queue = testQueue({ retryLimit: 2, retryDelaySeconds: 1 });
    let attempts = 0;
    const jobs = await startQueue(queue, async () => {
      attempts += 1;
      throw new Error(`attempt ${attempts} failed`);
    });
    const id = await jobs.send(database.db, queue, { n: 1 });
    await waitFor(async () => (await jobs.find(queue, id!))?.state === 'failed', 'failure', 60_000);
    expect(attempts).toBe(3);
    const failed = await jobs.find(queue, id!);
    expect(failed).toMatchObject({ retryCount: 2, output: { message: 'attempt 3 failed' } });
  }, 90_000);

  it('when several jobs are sent at once, then they commit and run with their transaction, and a bad one refuses them all', async () => {
    const queue = testQueue();
    const seen: number[] = [];
    const jobs = await startQueue(queue, async ({ n }) => {
      seen.push(n);
    });
    await database.db
      .transaction(async (tx) => {
        await jobs.sendMany(tx, queue, [{ payload: { n: 1 } }, { payload: { n: 2 } }]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await expect(
      database.db.transaction((tx) =>
        jobs.sendMany(tx, queue, [{ payload: { n: 3 } }, { payload: { n: 'x' } as never }]),
      ),
    ).rejects.toBeInstanceOf(InvalidPayloadError);
    await database.db.transaction((tx) =>
      jobs.sendMany(tx, queue, [{ payload: { n: 4 } }, { payload: { n: 5 } }]),
    );
    await waitFor(() => seen.length === 2, 'both jobs');
    expect(seen.sort()).toEqual([4, 5]);
  });

  it('when a payload does not match its schema, then send refuses it', async () => {
    const queue = testQueue();
    const jobs = await startQueue(queue, async () => undefined);
    await expect(jobs.send(database.db, queue, { n: 'one' } as never)).rejects.toBeInstanceOf(
      InvalidPayloadError,
    );
  });

  it('when the queue stops while a job runs, then the job finishes first', async () => {
    const queue = testQueue();
    let started = false;
    let finished = false;
    const jobs = await startQueue(queue, async () => {
      started = true;
      await sleep(600);
      finished = true;
    });
    const id = await jobs.send(database.db, queue, { n: 1 });
    await waitFor(() => started, 'the job to start');
    await jobs.stop();
    expect(finished).toBe(true);
    const reader = new JobQueue({ database, config: { ...config, workers: false }, log });
    reader.register(queue, async () => undefined);
    await reader.start();
    queues.push(reader);
    expect(await reader.find(queue, id!)).toMatchObject({ state: 'completed' });
  });

  it('when a job outlasts the shutdown deadline, then it runs again after a restart', async () => {
    const queue = testQueue({ retryLimit: 3, retryDelaySeconds: 1 });
    const attempts: number[] = [];
    const hang: JobHandler<typeof queue> = async (_payload, { attempt, signal }) => {
      attempts.push(attempt);
      if (attempt === 0) {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        throw new Error('interrupted by shutdown');
      }
    };
    const first = await startQueue(queue, hang);
    const id = await first.send(database.db, queue, { n: 1 });
    await waitFor(() => attempts.length === 1, 'the first attempt');
    await first.stop();

    const restarted = await startQueue(queue, hang);
    await waitFor(
      async () => (await restarted.find(queue, id!))?.state === 'completed',
      'the job to run again',
      30_000,
    );
    expect(attempts).toEqual([0, 1]);
  }, 60_000);

  it('when a handler is run through the test seam, then it runs now with the payload', async () => {
    const queue = testQueue();
    const jobs = await startQueue(queue, async ({ n }) => ({ doubled: n * 2 }));
    expect(await jobs.run(queue, { n: 21 })).toEqual({ doubled: 42 });
  });

  it('when jobs wait, then the depth counts them by queue', async () => {
    const queue = testQueue();
    const jobs = new JobQueue({ database, config: { ...config, workers: false }, log });
    jobs.register(queue, async () => undefined);
    await jobs.start();
    queues.push(jobs);
    await jobs.send(database.db, queue, { n: 1 });
    await jobs.send(database.db, queue, { n: 2 });
    expect((await jobs.depth()).get(queue.name)).toBe(2);
  });
});
