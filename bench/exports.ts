/**
 * `npx tsx bench/exports.ts [--tasks 100000] [--comments 0.2] [--format json|csv|both]` (also at
 * the end of `npm run bench`): seeds a project with that many tasks (and comments on a share of
 * them) in a throw-away PostgreSQL database on `BENCH_DATABASE_URL` (default the local server),
 * then runs the export job in a child process, as a worker would, and reports its seconds and
 * the growth of that process's resident memory over its level before the export (peak RSS,
 * from the kernel's high-water mark, reset before the run). Targets for 100 000 tasks: under
 * 30 s and under 100 MB of growth.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import postgres from 'postgres';
import { testConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { exportQueue } from '../src/jobs/exports.js';
import { startEnv, startFlags } from './process.js';
import { Mailer } from '../src/lib/mailer.js';
import { createServices } from '../src/services.js';

const { values: flags } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    comments: { type: 'string', default: '0.2' },
    format: { type: 'string', default: 'both' },
    // Internal: the child process that runs one export.
    child: { type: 'string' },
  },
});

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS_TARGET = 30;
const GROWTH_TARGET = 100 * 1024 * 1024;
const MB = 1024 * 1024;

interface ChildInput {
  url: string;
  jobId: string;
  userId: string;
  projectId: string;
  format: 'json' | 'csv';
}

interface ChildOutput {
  seconds: number;
  baseline: number;
  peak: number;
  size: number;
}

function statusKb(field: string): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** In the child: builds the services as the worker does and runs one export job. */
async function runChild(input: ChildInput): Promise<void> {
  const log = pino({ level: 'warn' });
  const config = testConfig({ databaseUrl: input.url, workers: false });
  const database = await openDatabase({ url: input.url, poolSize: 4 });
  const jobs = new JobQueue({ database, config, log });
  const mailer = new Mailer(null, config.mailFrom, log);
  const services = createServices({ db: database.db, config, mailer, jobs });
  await jobs.start();
  global.gc?.();
  const baseline = statusKb('VmRSS');
  // Writing 5 resets the peak (VmHWM) to the current RSS (Linux ≥ 4.0).
  let sampled = baseline;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Without it the sampler below is the only measure.
  }
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, statusKb('VmRSS'));
  }, 20);
  const started = performance.now();
  const result = (await services.jobs.run(exportQueue, {
    job_id: input.jobId,
    user_id: input.userId,
    project_id: input.projectId,
    format: input.format,
  })) as { size: number } | null;
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const peak = Math.max(sampled, statusKb('VmHWM'));
  await jobs.stop();
  mailer.close();
  await database.close();
  const output: ChildOutput = { seconds, baseline, peak, size: result?.size ?? 0 };
  console.log(JSON.stringify(output));
}

async function seed(sql: postgres.Sql, tasks: number, commentShare: number) {
  const [user] = await sql<{ id: string }[]>`
    insert into users (id, email, password_hash, full_name)
    values (gen_random_uuid(), ${`bench-${randomBytes(4).toString('hex')}@example.com`}, 'x', 'Bench')
    returning id`;
  const [project] = await sql<{ id: string }[]>`
    insert into projects (id, name, created_by) values (gen_random_uuid(), 'Export bench', ${user!.id})
    returning id`;
  await sql`insert into project_members (project_id, user_id, role) values (${project!.id}, ${user!.id}, 'owner')`;
  await sql`
    insert into tasks (id, project_id, title, description, status, priority, labels, assignee_id,
                       due_at, position, created_by, created_at, updated_at)
    select gen_random_uuid(), ${project!.id}, 'Task number ' || i || ', with a comma',
           repeat('Some description text, "quoted" once. ', 3),
           (array['todo','in_progress','done','canceled'])[1 + i % 4]::task_status,
           (array['none','low','medium','high','urgent'])[1 + i % 5]::task_priority,
           array['label-' || (i % 7), 'bench'],
           case when i % 3 = 0 then ${user!.id}::uuid end,
           case when i % 2 = 0 then now() + (i || ' minutes')::interval end,
           i, ${user!.id}, now() - ((${tasks} - i) || ' seconds')::interval, now()
    from generate_series(1, ${tasks}) as i`;
  const commentCount = Math.round(tasks * commentShare);
  if (commentCount > 0) {
    await sql`
      insert into comments (id, task_id, author_id, body)
      select gen_random_uuid(), t.id, ${user!.id}, 'A comment on ' || t.title
      from (select id, title from tasks where project_id = ${project!.id} order by random() limit ${commentCount}) t`;
  }
  await sql`analyze`;
  return { userId: user!.id, projectId: project!.id, comments: commentCount };
}

async function main(): Promise<void> {
  const tasks = Number(flags.tasks);
  const formats =
    flags.format === 'both' ? (['json', 'csv'] as const) : [flags.format as 'json' | 'csv'];
  const name = `docket_bench_exports_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => undefined });
  try {
    const database = await openDatabase({ url: url.toString(), poolSize: 2 });
    await database.migrate();
    await database.close();
    const seedStarted = performance.now();
    const seeded = await seed(sql, tasks, Number(flags.comments));
    console.log(
      `seeded ${tasks} tasks and ${seeded.comments} comments in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
    );
    for (const format of formats) {
      const [job] = await sql<{ id: string }[]>`
        insert into jobs (id, user_id, kind) values (gen_random_uuid(), ${seeded.userId}, 'export')
        returning id`;
      const input: ChildInput = { url: url.toString(), jobId: job!.id, ...seeded, format };
      const child = spawnSync(
        process.execPath,
        [
          '--expose-gc',
          // The V8 settings of `npm start` and `npm run worker` (and its environment, below).
          ...startFlags(),
          // e.g. BENCH_NODE_ARGS=--max-semi-space-size=8 to try other V8 settings on the worker.
          ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          '--import',
          'tsx',
          'bench/exports.ts',
          '--child',
          JSON.stringify(input),
        ],
        { encoding: 'utf8', maxBuffer: 16 * MB, env: { ...process.env, ...startEnv() } },
      );
      if (child.status !== 0) throw new Error(`export child failed:\n${child.stderr}`);
      const output = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as ChildOutput;
      const growth = output.peak - output.baseline;
      const pass = output.seconds < SECONDS_TARGET && growth < GROWTH_TARGET;
      console.log(
        `export ${format.padEnd(4)} ${tasks} tasks: ${output.seconds.toFixed(1)} s, ` +
          `${(output.size / MB).toFixed(1)} MB file, RSS ${(output.baseline / MB).toFixed(0)} → ` +
          `${(output.peak / MB).toFixed(0)} MB (growth ${(growth / MB).toFixed(1)} MB) — ` +
          `targets < ${SECONDS_TARGET} s, < 100 MB growth: ${pass ? 'pass' : 'miss'}`,
      );
    }
  } finally {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 1 });
  }
}

if (flags.child !== undefined) await runChild(JSON.parse(flags.child) as ChildInput);
else await main();
