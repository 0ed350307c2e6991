/**
 * By hand (not part of `npm run bench`): `npx tsx bench/jobs.ts [--jobs 5000]
 * [--backend postgres|pglite|both]`. Queues that many jobs of a no-op queue (each `send()` in a
 * transaction of its own, as the application does), then starts a worker and times how long it
 * takes to run them all. Prints enqueue and processing rates in jobs per second; the target is
 * at least 500 jobs/s processed. PostgreSQL comes from BENCH_DATABASE_URL (an admin URL: a
 * throw-away database is created on it), default postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import postgres from 'postgres';
import Type from 'typebox';
import { testConfig } from '../src/config.js';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { defineQueue } from '../src/jobs/queues.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '5000' },
    backend: { type: 'string', default: 'both' },
    senders: { type: 'string', default: '4' },
  },
});
const total = Number(flags.jobs);
const senders = Number(flags.senders);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET = 500;

const noop = defineQueue('bench-noop', Type.Object({ n: Type.Integer() }), {
  retryLimit: 0,
  retryDelaySeconds: 1,
  batchSize: 100,
  concurrency: 2,
});
const log = pino({ level: 'warn' });

async function measure(database: DatabaseHandle, url: string | null): Promise<void> {
  const config = testConfig({ databaseUrl: url, jobPollIntervalMs: 500, workers: false });
  await database.migrate();
  const producer = new JobQueue({ database, config, log });
  producer.register(noop, async () => undefined);
  await producer.start();

  let next = 0;
  const sendStarted = performance.now();
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < total) {
        const n = next++;
        await database.db.transaction((tx) => producer.send(tx, noop, { n }));
      }
    }),
  );
  const sendSeconds = (performance.now() - sendStarted) / 1000;

  let done = 0;
  const worker = new JobQueue({ database, config: { ...config, workers: true }, log });
  worker.register(noop, async () => {
    done += 1;
  });
  const workStarted = performance.now();
  await worker.start();
  while (done < total) await sleep(5);
  const workSeconds = (performance.now() - workStarted) / 1000;
  await worker.stop();
  await producer.stop();

  const sendRate = total / sendSeconds;
  const workRate = total / workSeconds;
  console.log(
    `${database.kind.padEnd(8)} ${total} jobs: enqueue ${sendRate.toFixed(0)}/s ` +
      `(${senders} senders, one transaction each), processed ${workRate.toFixed(0)}/s ` +
      `(batch 100 × 2 pollers) — target ≥ ${TARGET}/s: ${workRate >= TARGET ? 'pass' : 'miss'}`,
  );
}

if (flags.backend === 'postgres' || flags.backend === 'both') {
  const name = `docket_bench_jobs_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 10 });
  try {
    await measure(database, url.toString());
  } finally {
    await database.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 1 });
  }
}
if (flags.backend === 'pglite' || flags.backend === 'both') {
  const database = await openDatabase({ url: null });
  try {
    await measure(database, null);
  } finally {
    await database.close();
  }
}
