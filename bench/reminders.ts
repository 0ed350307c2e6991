/**
 * `npx tsx bench/reminders.ts [--reminders 10000] [--instances 2] [--lead <s>]` (also run at the
 * end of `npm run bench`): on a throw-away PostgreSQL database (`BENCH_DATABASE_URL`, an admin
 * URL; default the local server), plans that many reminders for the same moment, `--lead`
 * seconds ahead (default: one second per 150 reminders, at least 10), each through the reminder
 * job the application sends when a task is written.
 * Then `--instances` workers (each with its own job queue and services, as separate processes
 * would have) start, and the harness waits for every reminder to fire. Prints how long after
 * the due moment the last one fired, the lateness percentiles, and checks that each fired
 * exactly once: one `task.reminder` event and one queued mail per task. Target: all 10 000
 * within 60 s, each once.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import postgres from 'postgres';
import { testConfig } from '../src/config.js';
import { type DatabaseHandle, openDatabase, resultRows } from '../src/db/client.js';
import { projectMembers, projects, tasks, users } from '../src/db/schema/index.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { newId } from '../src/lib/ids.js';
import { Mailer } from '../src/lib/mailer.js';
import { createServices, type Services } from '../src/services.js';

const { values: flags } = parseArgs({
  options: {
    reminders: { type: 'string', default: '10000' },
    instances: { type: 'string', default: '2' },
    lead: { type: 'string' },
  },
});
const total = Number(flags.reminders);
const instances = Number(flags.instances);
// Long enough for the seeding (about 150 tasks/s on a busy 2-core machine) to finish first.
const leadSeconds =
  flags.lead === undefined ? Math.max(10, Math.ceil(total / 150)) : Number(flags.lead);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET_SECONDS = 60;
const BATCH = 500;
const log = pino({ level: 'warn' });

interface Instance {
  services: Services;
  jobs: JobQueue;
  database: DatabaseHandle;
  mailer: Mailer;
}

async function instance(url: string, workers: boolean): Promise<Instance> {
  const config = testConfig({ databaseUrl: url, jobPollIntervalMs: 500, workers });
  const database = await openDatabase({ url, poolSize: 10 });
  const mailer = new Mailer(null, config.mailFrom, log);
  const jobs = new JobQueue({ database, config, log });
  const services = createServices({ db: database.db, config, mailer, jobs });
  return { services, jobs, database, mailer };
}

async function close({ jobs, database, mailer }: Instance): Promise<void> {
  await jobs.stop();
  mailer.close();
  await database.close();
}

async function count(database: DatabaseHandle, query: ReturnType<typeof sql>): Promise<number> {
  return resultRows<{ n: number }>(await database.db.execute(query))[0]?.n ?? 0;
}

async function measure(url: string): Promise<void> {
  const migrator = await openDatabase({ url, poolSize: 2 });
  await migrator.migrate();
  await migrator.close();

  // Tasks are written in batches, each task's reminder planned in its batch's transaction.
  const producer = await instance(url, false);
  await producer.jobs.start();
  const { db } = producer.database;
  const userId = newId();
  const projectId = newId();
  await db.insert(users).values({ id: userId, email: 'bench@example.com', passwordHash: 'x' });
  await db.insert(projects).values({ id: projectId, name: 'Reminders', createdBy: userId });
  await db.insert(projectMembers).values({ projectId, userId, role: 'owner' });
  const due = new Date(Math.ceil((Date.now() + leadSeconds * 1000) / 1000) * 1000);
  const seedStarted = performance.now();
  for (let offset = 0; offset < total; offset += BATCH) {
    await db.transaction(async (tx) => {
      const rows = Array.from({ length: Math.min(BATCH, total - offset) }, (_, i) => ({
        id: newId(),
        projectId,
        title: `Reminder ${offset + i}`,
        remindAt: due,
        createdBy: userId,
      }));
      await tx.insert(tasks).values(rows);
      for (const row of rows) await producer.services.reminders.plan(tx, row.id, due);
    });
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  await close(producer);
  const headroom = (due.getTime() - Date.now()) / 1000;
  console.log(
    `planned ${total} reminders in ${seedSeconds.toFixed(1)} s; due in ${headroom.toFixed(1)} s`,
  );
  if (headroom < 0) console.log('  (the lead was too short: the reminders were already due)');

  const workers = await Promise.all(Array.from({ length: instances }, () => instance(url, true)));
  for (const worker of workers) await worker.jobs.start();
  const probe = workers[0]!.database;
  const sent = sql`select count(*)::int as n from tasks where reminder_sent_at is not null`;
  let fired = 0;
  const deadline = due.getTime() + 5 * TARGET_SECONDS * 1000;
  while (fired < total && Date.now() < deadline) {
    await sleep(200);
    fired = await count(probe, sent);
  }
  // Seen committed by this poll (every 200 ms): includes the commit the claim times below do not.
  const committedSeconds = (Date.now() - due.getTime()) / 1000;
  const lateness = resultRows<{ p50: number; p99: number; max: number }>(
    await probe.db.execute(sql`
      select percentile_cont(0.5) within group (order by ms) as p50,
             percentile_cont(0.99) within group (order by ms) as p99,
             max(ms) as max
      from (select extract(epoch from reminder_sent_at - remind_at) * 1000 as ms
            from tasks where reminder_sent_at is not null) lateness`),
  )[0]!;
  const events = await count(
    probe,
    sql`select count(*)::int as n from events where type = 'task.reminder'`,
  );
  const distinct = await count(
    probe,
    sql`select count(distinct entity_id)::int as n from events where type = 'task.reminder'`,
  );
  const mails = await count(
    probe,
    sql`select count(*)::int as n from pgboss.job where name = 'mail'`,
  );
  for (const worker of workers) await close(worker);

  const allSeconds = Math.max(Number(lateness.max) / 1000, committedSeconds);
  const once = events === total && distinct === total && mails === total;
  console.log(
    `${total} reminders due at the same second, ${instances} worker instances: ` +
      `${fired} fired, all committed ${committedSeconds.toFixed(1)} s after the due time ` +
      `(lateness p50 ${(Number(lateness.p50) / 1000).toFixed(1)} s, p99 ${(Number(lateness.p99) / 1000).toFixed(1)} s); ` +
      `events ${events} (${distinct} tasks), mails queued ${mails}`,
  );
  console.log(
    `target: all within ${TARGET_SECONDS} s: ${fired === total && allSeconds <= TARGET_SECONDS ? 'pass' : 'miss'}; ` +
      `each exactly once: ${once ? 'pass' : 'miss'}`,
  );
}

const name = `docket_bench_reminders_${randomBytes(4).toString('hex')}`;
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
await admin.unsafe(`create database "${name}"`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
try {
  await measure(url.toString());
} finally {
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end({ timeout: 1 });
}
