import { type Algorithm, hash } from '@node-rs/argon2';
import postgres from 'postgres';
import { openDatabase } from '../src/db/client.js';

/** `BENCH_DATABASE` names another database, so two checkouts on one server keep their own. */
export const BENCH_DATABASE = process.env.BENCH_DATABASE ?? 'docket_bench';
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(BENCH_DATABASE)) {
  throw new Error(`BENCH_DATABASE must be a plain lower-case name (got ${BENCH_DATABASE})`);
}
export const BENCH_PASSWORD = 'bench-Password-7431-quiet-river';
/** Bumped whenever the shape of the seeded data changes, so an old data set is rebuilt. */
const SEED_VERSION = 3;

const LABELS = [
  'bug',
  'feature',
  'chore',
  'docs',
  'ui',
  'backend',
  'security',
  'perf',
  'design',
  'ops',
  'research',
  'billing',
];
const WORDS = [
  'review',
  'draft',
  'update',
  'deploy',
  'fix',
  'check',
  'plan',
  'write',
  'call',
  'email',
  'invoice',
  'report',
  'meeting',
  'client',
  'server',
  'budget',
  'design',
  'release',
  'test',
  'audit',
  'login',
  'search',
  'mobile',
  'backup',
  'schema',
  'cache',
  'queue',
  'export',
  'import',
  'sprint',
  'roadmap',
  'contract',
  'vendor',
  'onboarding',
  'metrics',
  'alert',
  'upgrade',
  'migration',
  'feedback',
  'survey',
  'payroll',
  'hiring',
  'training',
  'license',
  'renewal',
  'support',
  'ticket',
  'launch',
];
/**
 * The cost of the seeded password hashes, which is the cost every login of the bench pays (a
 * hash carries its own parameters). Keep it equal to what Docket uses for new passwords: argon2id
 * at the OWASP-recommended m=19 MiB, t=2, p=1 (the library's default).
 */
export const ARGON2_OPTIONS = {
  algorithm: 2 as Algorithm, // Argon2id (the enum is a const enum, out of reach here)
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** The label the filter scenario asks for, and the word the search scenario asks for. */
export const FILTER_LABEL = 'security';
export const SEARCH_WORD = 'invoice';

/** Deterministic UUIDs (version 7 and RFC variant bits set) so the bench can name any row. */
export const KIND = { user: 1, project: 2, task: 3, comment: 4 } as const;
export function benchId(kind: number, n: number): string {
  return `0000000${kind}-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}
const sqlId = (kind: number, expr: string) =>
  `('0000000${kind}-0000-7000-8000-' || lpad(to_hex(${expr}), 12, '0'))::uuid`;

export interface Plan {
  scale: number;
  users: number;
  projects: number;
  tasks: number;
  /** Tasks in project 1, the project the deep-page scenario walks. */
  bigProjectTasks: number;
  comments: number;
}

export function plan(scale: number): Plan {
  return {
    scale,
    users: Math.max(20, Math.round(1000 * scale)),
    projects: Math.max(10, Math.round(2000 * scale)),
    tasks: Math.max(2000, Math.round(1_000_000 * scale)),
    bigProjectTasks: Math.max(1000, Math.round(100_000 * scale)),
    comments: Math.max(500, Math.round(200_000 * scale)),
  };
}

/**
 * Who is who in the seeded data:
 * - user 1 reads and writes: owner of project 1 (the big one), editor of project 2 (where the
 *   write scenarios create and change tasks) and a member of every tenth project, so the
 *   all-projects filters run over a couple of hundred projects;
 * - user 2 is never a member of project 1 (the floor server's 404 check);
 * - every user owns a share of the projects and is a member of four more; all share one password.
 */
export const READER_USER = 1;
export const OUTSIDER_USER = 2;
export const BIG_PROJECT = 1;
export const WRITE_PROJECT = 2;

export function adminUrl(): string {
  return process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}
export function benchUrl(): string {
  const url = new URL(adminUrl());
  url.pathname = `/${BENCH_DATABASE}`;
  return url.toString();
}

export interface SeedResult {
  reused: boolean;
  seconds: number;
  rows: number;
  plan: Plan;
}

type Sql = postgres.Sql;

async function databaseExists(admin: Sql): Promise<boolean> {
  const rows = await admin`select 1 from pg_database where datname = ${BENCH_DATABASE}`;
  return rows.length > 0;
}

async function matches(sql: Sql, want: Plan): Promise<boolean> {
  try {
    const [meta] = await sql<{ version: number; scale: number }[]>`
      select version, scale from bench_seed limit 1`;
    if (!meta || meta.version !== SEED_VERSION || meta.scale !== want.scale) return false;
    const [counts] = await sql<{ users: number; projects: number; big: number; seeded: number }[]>`
      select (select count(*)::int from users) as users,
             (select count(*)::int from projects) as projects,
             (select count(*)::int from tasks where project_id = ${benchId(KIND.project, BIG_PROJECT)}) as big,
             (select count(*)::int from tasks where id <= ${benchId(KIND.task, want.tasks)}) as seeded`;
    return (
      counts !== undefined &&
      counts.users === want.users &&
      counts.projects === want.projects &&
      counts.big === want.bigProjectTasks &&
      counts.seeded === want.tasks
    );
  } catch {
    return false;
  }
}

/** Creates (or reuses) the `docket_bench` database holding the data set for `scale`. */
export async function seed(options: {
  scale: number;
  reseed: boolean;
  log?: (line: string) => void;
}): Promise<SeedResult> {
  const log = options.log ?? console.log;
  const want = plan(options.scale);
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  try {
    if (!options.reseed && (await databaseExists(admin))) {
      const sql = postgres(benchUrl(), { max: 1, onnotice: () => undefined });
      try {
        if (await matches(sql, want)) {
          // New migrations (after an upgrade) still apply to the kept data set.
          const handle = await openDatabase({ url: benchUrl() });
          await handle.migrate();
          await handle.close();
          log(`seed: reusing ${BENCH_DATABASE} (scale ${want.scale}); --reseed rebuilds it`);
          return { reused: true, seconds: 0, rows: 0, plan: want };
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    }
    log(`seed: creating ${BENCH_DATABASE} at scale ${want.scale}`);
    await admin.unsafe(`drop database if exists ${BENCH_DATABASE} with (force)`);
    await admin.unsafe(`create database ${BENCH_DATABASE}`);
  } finally {
    await admin.end({ timeout: 5 });
  }

  const handle = await openDatabase({ url: benchUrl() });
  await handle.migrate();
  await handle.close();

  const started = performance.now();
  const sql = postgres(benchUrl(), { max: 1, onnotice: () => undefined });
  let rows = 0;
  const step = async (label: string, text: string) => {
    const t0 = performance.now();
    const result = await sql.unsafe(text);
    const seconds = (performance.now() - t0) / 1000;
    rows += result.count;
    log(
      `seed: ${label.padEnd(28)} ${String(result.count).padStart(9)} rows ${seconds.toFixed(1).padStart(6)} s` +
        (result.count > 0
          ? `  (${Math.round(result.count / Math.max(seconds, 0.001)).toLocaleString('en')} rows/s)`
          : ''),
    );
  };
  try {
    await sql.unsafe(`set synchronous_commit = off`);
    await sql.unsafe(`set maintenance_work_mem = '512MB'`);
    await sql.unsafe(`set work_mem = '64MB'`);

    // Bulk loads go much faster into tables without their secondary indexes; the indexes come
    // back from their own definitions afterwards, so new migrations' indexes are rebuilt too.
    const indexes = await sql<{ name: string; def: string }[]>`
      select i.indexname as name, i.indexdef as def
      from pg_indexes i
      where i.schemaname = 'public' and i.tablename in ('tasks', 'comments', 'project_members')
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`;
    for (const index of indexes) await sql.unsafe(`drop index "${index.name}"`);

    const passwordHash = await hash(BENCH_PASSWORD, ARGON2_OPTIONS);
    const { users, projects, tasks, bigProjectTasks, comments } = want;
    const words = `(array[${WORDS.map((w) => `'${w}'`).join(',')}])`;
    const labels = `(array[${LABELS.map((l) => `'${l}'`).join(',')}])`;
    const h = (expr: string) => `abs(hashint8((${expr})::bigint)::bigint)`;

    await step(
      'users',
      `insert into users (id, email, password_hash, full_name, email_verified_at, created_at, updated_at)
       select ${sqlId(KIND.user, 'u')}, 'bench-user-' || u || '@bench.test', '${passwordHash}',
              'Bench User ' || u, now(), now() - interval '400 days', now() - interval '400 days'
       from generate_series(1, ${users}) u`,
    );
    await step(
      'projects',
      `insert into projects (id, name, description, created_by, created_at, updated_at)
       select ${sqlId(KIND.project, 'p')},
              case p when ${BIG_PROJECT} then 'Big project' when ${WRITE_PROJECT} then 'Write project'
                     else 'Project ' || p end,
              'Bench project ' || p, ${sqlId(KIND.user, `((p - 1) % ${users}) + 1`)},
              now() - interval '400 days', now() - interval '400 days'
       from generate_series(1, ${projects}) p`,
    );
    await step(
      'project_members',
      `insert into project_members (project_id, user_id, role)
       select ${sqlId(KIND.project, 'p')}, ${sqlId(KIND.user, `((p - 1) % ${users}) + 1`)}, 'owner'::member_role
       from generate_series(1, ${projects}) p
       union all
       select ${sqlId(KIND.project, 'p')}, ${sqlId(KIND.user, String(READER_USER))}, 'editor'::member_role
       from generate_series(2, ${projects}) p
       where (p = ${WRITE_PROJECT} or p % 10 = 0) and ((p - 1) % ${users}) + 1 <> ${READER_USER}
       union all
       select distinct ${sqlId(KIND.project, `2 + ((u * 37 + k * 101) % ${projects - 1})`)},
              ${sqlId(KIND.user, 'u')}, (array['viewer','editor','admin'])[1 + k % 3]::member_role
       from generate_series(1, ${users}) u, generate_series(1, 4) k
       on conflict do nothing`,
    );
    await step(
      'tasks',
      `insert into tasks (id, project_id, title, description, status, priority, labels, due_at,
                          position, created_by, created_at, updated_at, completed_at)
       select ${sqlId(KIND.task, 'i')},
              case when i <= ${bigProjectTasks} then ${sqlId(KIND.project, String(BIG_PROJECT))}
                   else ${sqlId(KIND.project, `2 + (i % ${projects - 1})`)} end,
              initcap(${words}[1 + ${h('i * 3')} % ${WORDS.length}]) || ' ' ||
                ${words}[1 + ${h('i * 3 + 1')} % ${WORDS.length}] || ' #' || i,
              array_to_string(array(
                select ${words}[1 + ${h('i * 16 + k')} % ${WORDS.length}] from generate_series(1, 8) k), ' '),
              (enum_range(null::task_status))[1 + ${h('i * 5')} % 4],
              (enum_range(null::task_priority))[1 + ${h('i * 7')} % 5],
              array(select distinct ${labels}[1 + ${h('i * 8 + k + 3')} % ${LABELS.length}]
                    from generate_series(1, ${h('i * 11')} % 4) k),
              case when ${h('i * 13')} % 5 = 0 then null
                   else now() + interval '1 hour' * ((${h('i * 17')} % 8760) - 2000) end,
              i::double precision,
              ${sqlId(KIND.user, `1 + (i % ${users})`)},
              now() - interval '1 second' * (${tasks} - i) * 20,
              now() - interval '1 second' * (${tasks} - i) * 10,
              case when ${h('i * 5')} % 4 = 2 then now() - interval '1 second' * (${tasks} - i) * 10 end
       from generate_series(1, ${tasks}) i`,
    );
    await step(
      'comments',
      `insert into comments (id, task_id, author_id, body, created_at, updated_at)
       select ${sqlId(KIND.comment, 'c')},
              ${sqlId(KIND.task, `1 + ${h('c * 19')} % ${tasks}`)},
              ${sqlId(KIND.user, `1 + (c % ${users})`)},
              array_to_string(array(
                select ${words}[1 + ${h('c * 12 + k')} % ${WORDS.length}] from generate_series(1, 12) k), ' '),
              now() - interval '1 second' * (${comments} - c), now() - interval '1 second' * (${comments} - c)
       from generate_series(1, ${comments}) c`,
    );
    for (const index of indexes) {
      const t0 = performance.now();
      await sql.unsafe(index.def);
      log(
        `seed: index ${index.name.padEnd(34)} ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s`,
      );
    }
    const t0 = performance.now();
    await sql.unsafe(`vacuum analyze`);
    log(`seed: vacuum analyze ${((performance.now() - t0) / 1000).toFixed(1).padStart(27)} s`);
    await sql.unsafe(
      `create table bench_seed (version int not null, scale double precision not null, seeded_at timestamptz not null default now())`,
    );
    await sql`insert into bench_seed (version, scale) values (${SEED_VERSION}, ${want.scale})`;
  } finally {
    await sql.end({ timeout: 5 });
  }
  const seconds = (performance.now() - started) / 1000;
  log(
    `seed: ${rows.toLocaleString('en')} rows in ${seconds.toFixed(1)} s ` +
      `(${Math.round(rows / seconds).toLocaleString('en')} rows/s, indexes and ANALYZE included)`,
  );
  return { reused: false, seconds, rows, plan: want };
}

/** Creates a live session for each user and returns its id; the bench signs tokens for them. */
export async function createSessions(userNumbers: number[]): Promise<Map<number, string>> {
  const sql = postgres(benchUrl(), { max: 1, onnotice: () => undefined });
  try {
    // What earlier runs wrote (tasks created by the write scenarios, their events, the logins'
    // sessions) goes, so every run starts from the same data set.
    const lastSeeded = benchId(KIND.task, 0xffffffffffff);
    await sql`delete from tasks where id > ${lastSeeded}`;
    await sql`delete from events`;
    try {
      await sql`delete from sessions`;
    } catch {
      await sql`delete from sessions where user_agent = 'docket-bench'`;
    }
    const result = new Map<number, string>();
    for (const n of userNumbers) {
      const [row] = await sql<{ id: string }[]>`
        insert into sessions (id, user_id, user_agent, ip_address, expires_at)
        values (gen_random_uuid(), ${benchId(KIND.user, n)}, 'docket-bench', '127.0.0.1', now() + interval '1 day')
        returning id`;
      if (row) result.set(n, row.id);
    }
    return result;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const scaleIndex = process.argv.indexOf('--scale');
  const scale = scaleIndex > 0 ? Number(process.argv[scaleIndex + 1]) : 1;
  await seed({ scale, reseed: process.argv.includes('--reseed') });
}
