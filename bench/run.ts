/**
 * `npm run bench`: seeds (or reuses) the bench database, builds Docket, and drives it with
 * autocannon on loopback — on PostgreSQL, then with Redis — next to a floor reference server.
 * Prints req/s, p50/p99, errors and peak RSS per scenario, then the targets with pass/miss
 * verdicts (informational: the exit code does not depend on them). See docs/benchmarks.md.
 */
import { execSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Request } from 'autocannon';
import postgres from 'postgres';
import { AccessTokens } from '../src/modules/auth/access-tokens.js';
import {
  cpuMsBetween,
  freePort,
  killAll,
  readCpuMs,
  readCpuMsOfAll,
  readRss,
  RssSampler,
  startEnv,
  startFlags,
  startServer,
  type Started,
} from './process.js';
import { mb, printResults, printTargets, type Row, type Target, verdict } from './report.js';
import { drive, type Measurement, medianOf, probe, rotating, weighted } from './scenarios.js';
import {
  BENCH_PASSWORD,
  BIG_PROJECT,
  benchId,
  benchUrl,
  createSessions,
  FILTER_LABEL,
  KIND,
  OUTSIDER_USER,
  READER_USER,
  SEARCH_WORD,
  seed,
  WRITE_PROJECT,
  type Plan,
} from './seed.js';

const SCENARIOS = [
  'health',
  'get-task',
  'list-first',
  'list-deep',
  'list-poll',
  'filter-label',
  'search',
  'create',
  'patch',
  'mix',
  'soak',
  'login',
  'login-storm',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: flags } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    'login-connections': { type: 'string', default: '8' },
    only: { type: 'string' },
    redis: { type: 'boolean', default: true },
    'no-redis': { type: 'boolean', default: false },
    'soak-seconds': { type: 'string', default: '300' },
    reseed: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    'no-floor': { type: 'boolean', default: false },
    'no-background': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  console.log(`npm run bench -- [options]
  --scale <f>             fraction of the full data set (default 1: 1 000 000 tasks)
  --duration <s>          seconds per measured scenario (default 10)
  --warmup <s>            seconds of unmeasured load before each scenario (default 2)
  --repeat <n>            measured runs per scenario; the report gives their median (default 3)
  --connections <n>       autocannon connections (default 32)
  --login-connections <n> connections of the login storm (default 8)
  --only <a,b,...>        scenarios: ${SCENARIOS.join(', ')}
                          (health = GET /health/live, a check of the harness; not in the default)
  --redis / --no-redis    also run the Redis configuration (default on)
  --soak-seconds <s>      length of the soak: the mixed load, RSS sampled throughout (default 300)
  --reseed                rebuild the bench database even if it matches
  --skip-build            use the existing dist/ instead of running npm run build
  --no-floor              skip the floor reference server
  --no-background         skip the background-work scenarios run after the HTTP ones:
                          event relay lag (bench/relay-lag.ts), job throughput (bench/jobs.ts),
                          10 000 reminders due at once (bench/reminders.ts), the export
                          of a 100 000-task project (bench/exports.ts) and webhook
                          deliveries (bench/webhooks.ts), real-time streams (bench/realtime.ts)`);
  process.exit(0);
}

const scale = Number(flags.scale);
const duration = Number(flags.duration);
const warmup = Number(flags.warmup);
const repeat = Math.max(1, Math.floor(Number(flags.repeat)));
const connections = Number(flags.connections);
const loginConnections = Number(flags['login-connections']);
const soakSeconds = Number(flags['soak-seconds']);
// `health` (GET /health/live) only checks the harness itself; it runs when asked for.
const selected = new Set<Scenario>(
  flags.only
    ? (flags.only.split(',').map((s) => s.trim()) as Scenario[])
    : SCENARIOS.filter((s) => s !== 'health'),
);
for (const name of selected) {
  if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario "${name}"`);
}
const withRedis = flags.redis && !flags['no-redis'];
const JWT_SECRET = 'docket-bench-secret-' + 'x'.repeat(40);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const ms = (value: number) => `${value.toFixed(1)} ms`;

interface Fixtures {
  plan: Plan;
  readerToken: string;
  outsiderToken: string;
  /** Tasks the reader can see: the GET scenarios rotate through them. */
  readTaskIds: string[];
  /** Tasks in the write project: the PATCH scenario rotates through them. */
  patchTaskIds: string[];
  loginEmails: string[];
}

async function fixtures(plan: Plan): Promise<Fixtures> {
  const sessions = await createSessions([READER_USER, OUTSIDER_USER]);
  const tokens = new AccessTokens(JWT_SECRET, 86_400);
  const sign = async (user: number) =>
    (await tokens.sign({ userId: benchId(KIND.user, user), sessionId: sessions.get(user) ?? '' }))
      .token;
  const sql = postgres(benchUrl(), { max: 1, onnotice: () => undefined });
  try {
    // Spread over the whole big project and the reader's other projects, so the reads do not
    // all hit the same few pages.
    const read = await sql<{ id: string }[]>`
      select t.id from tasks t
      join project_members m on m.project_id = t.project_id and m.user_id = ${benchId(KIND.user, READER_USER)}
      where t.id <= ${benchId(KIND.task, plan.tasks)}
      order by hashtext(t.id::text) limit 5000`;
    const patch = await sql<{ id: string }[]>`
      select id from tasks where project_id = ${benchId(KIND.project, WRITE_PROJECT)}
        and id <= ${benchId(KIND.task, plan.tasks)}
      order by id limit 2000`;
    const users = Math.min(plan.users, 200);
    return {
      plan,
      readerToken: await sign(READER_USER),
      outsiderToken: await sign(OUTSIDER_USER),
      readTaskIds: read.map((r) => r.id),
      patchTaskIds: patch.map((r) => r.id),
      loginEmails: Array.from({ length: users }, (_, i) => `bench-user-${i + 1}@bench.test`),
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function getTaskRequest(f: Fixtures): Request {
  return rotating({ method: 'GET', headers: auth(f.readerToken) }, f.readTaskIds.length, (i) => ({
    path: `/api/v1/tasks/${f.readTaskIds[i]}`,
  }));
}

function loginRequest(f: Fixtures): Request {
  return rotating(
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    f.loginEmails.length,
    (i) => ({
      path: '/api/v1/auth/token',
      body: new URLSearchParams({
        grant_type: 'password',
        username: f.loginEmails[i] ?? '',
        password: BENCH_PASSWORD,
      }).toString(),
    }),
  );
}

function createRequest(f: Fixtures): Request {
  const labels = ['bug', 'feature', 'security', 'docs'];
  let n = 0;
  return {
    method: 'POST',
    path: `/api/v1/projects/${benchId(KIND.project, WRITE_PROJECT)}/tasks`,
    headers: { ...auth(f.readerToken), 'content-type': 'application/json' },
    setupRequest: (request) => {
      n += 1;
      const due = new Date(Date.now() + (n % 90) * 86_400_000).toISOString();
      return {
        ...request,
        body: JSON.stringify({
          title: `Bench task ${process.pid}-${n}`,
          description: 'created by the bench: review invoice before release',
          labels: [labels[n % labels.length]],
          priority: 'medium',
          due_at: due,
        }),
      };
    },
  };
}

function patchRequest(f: Fixtures): Request {
  let n = 0;
  return rotating(
    {
      method: 'PATCH',
      headers: { ...auth(f.readerToken), 'content-type': 'application/json' },
    },
    f.patchTaskIds.length,
    (i) => ({
      path: `/api/v1/tasks/${f.patchTaskIds[i]}`,
      body: JSON.stringify({ title: `Renamed by the bench ${++n}` }),
    }),
  );
}

function listRequest(f: Fixtures, cursor: string | null): Request {
  const project = benchId(KIND.project, BIG_PROJECT);
  const query = cursor === null ? 'limit=50' : `limit=50&cursor=${encodeURIComponent(cursor)}`;
  return {
    method: 'GET',
    path: `/api/v1/projects/${project}/tasks?${query}`,
    headers: auth(f.readerToken),
  };
}

function filterRequest(f: Fixtures, query: string): Request {
  return { method: 'GET', path: `/api/v1/tasks?${query}`, headers: auth(f.readerToken) };
}

/**
 * Walks `next_cursor` to about the middle of the big project, with the largest page size the
 * API accepts among 200, 100 and 50, so the timed run can start from a deep cursor.
 */
async function deepCursor(
  baseUrl: string,
  f: Fixtures,
): Promise<{ cursor: string | null; depth: number; note?: string }> {
  const project = benchId(KIND.project, BIG_PROJECT);
  const target = Math.floor(f.plan.bigProjectTasks / 2);
  const sizes = [200, 100, 50];
  let cursor: string | null = null;
  let depth = 0;
  while (depth < target) {
    const size = sizes[0] ?? 50;
    const query: string =
      cursor === null ? `limit=${size}` : `limit=${size}&cursor=${encodeURIComponent(cursor)}`;
    const response = await fetch(`${baseUrl}/api/v1/projects/${project}/tasks?${query}`, {
      headers: auth(f.readerToken),
    });
    if (!response.ok) {
      await response.arrayBuffer();
      if (response.status === 400 && sizes.length > 1) {
        sizes.shift();
        continue;
      }
      return { cursor, depth, note: `paging answered ${response.status} at depth ${depth}` };
    }
    const page = (await response.json()) as { items?: unknown[]; next_cursor?: string | null };
    const count = page.items?.length ?? 0;
    depth += count;
    if (!page.next_cursor || count === 0) {
      return { cursor, depth, note: `ran out of pages at ${depth}` };
    }
    cursor = page.next_cursor;
  }
  return { cursor, depth };
}

interface RunContext {
  config: string;
  server: Started;
  f: Fixtures;
  rows: Row[];
  measured: Map<string, Measurement>;
  /**
   * The floor server, running beside Docket: a scenario it answers too is driven on both in
   * turn (floor, Docket, floor, Docket, …), so both see the same moments of a noisy machine.
   */
  floor: Started | null;
  floorMeasured: Map<string, Measurement>;
  /** Docket ÷ floor req/s: the median of the ratios of the interleaved pairs. */
  ratios: Map<string, number>;
}

/** A run of conditional requests: its 304s are its successes. */
function countNotModified(m: Measurement): Measurement {
  const ok = m.ok + m.threeXx;
  const non2xx = m.non2xx - m.threeXx;
  const bad = non2xx + m.errors + m.timeouts;
  return { ...m, ok, rps: ok / m.seconds, non2xx, failed: ok === 0 || bad > ok };
}

/** One measured run, with the server's CPU time per answer. */
async function driveCounted(
  server: Started,
  spec: { connections: number; requests: Request[] },
  seconds: number,
): Promise<Measurement> {
  const before = readCpuMs(server.pid);
  const dbBefore = readCpuMsOfAll('postgres');
  const m = await drive(server.baseUrl, { ...spec, duration: seconds });
  const after = readCpuMs(server.pid);
  const db = cpuMsBetween(dbBefore, readCpuMsOfAll('postgres'));
  const answered = m.allRps * m.seconds;
  if (answered === 0) return m;
  return {
    ...m,
    ...(before === null || after === null ? {} : { cpuMsPerRequest: (after - before) / answered }),
    // The database is local: its processes' CPU while only this server was driven.
    ...(db === null ? {} : { dbCpuMsPerRequest: db / answered }),
  };
}

/** Warm-up, then the measured run, sampling the server's RSS every 250 ms throughout. */
async function measure(
  ctx: RunContext,
  scenario: string,
  requests: Request[],
  options: {
    seconds?: number;
    connections?: number;
    note?: string;
    after?: boolean;
    repeat?: number;
    /** 304 is the answer sought (a conditional request): counted as a success. */
    notModified?: boolean;
    /** Keep every RSS sample in the row (the soak's growth is read from them). */
    keepSeries?: boolean;
  } = {},
): Promise<Measurement> {
  const status = await probe(ctx.server.baseUrl, requests[0] ?? {});
  const answers =
    (status >= 200 && status < 300) || (options.notModified === true && status === 304);
  // A scenario whose route does not answer is still driven (briefly), and reported as errors.
  const seconds = answers ? (options.seconds ?? duration) : Math.min(2, duration);
  const spec = { connections: options.connections ?? connections, requests };
  const rest = readRss(ctx.server.pid) ?? 0;
  const sampler = new RssSampler(ctx.server.pid, 250);
  if (answers && warmup > 0) await drive(ctx.server.baseUrl, { ...spec, duration: warmup });
  const paired =
    answers && ctx.floor !== null && (FLOOR_SCENARIOS as readonly string[]).includes(scenario)
      ? ctx.floor
      : null;
  if (paired !== null && warmup > 0) await drive(paired.baseUrl, { ...spec, duration: warmup });
  const runs: Measurement[] = [];
  const floorRuns: Measurement[] = [];
  for (let i = 0; i < (answers ? (options.repeat ?? repeat) : 1); i++) {
    if (paired !== null) floorRuns.push(await driveCounted(paired, spec, seconds));
    const run = await driveCounted(ctx.server, spec, seconds);
    runs.push(options.notModified ? countNotModified(run) : run);
  }
  const m = medianOf(runs);
  const rss = sampler.stop();
  if (paired !== null) {
    const floorM = medianOf(floorRuns);
    ctx.floorMeasured.set(scenario, floorM);
    const ratios = runs.map((run, i) => run.rps / Math.max(floorRuns[i]?.rps ?? 0, 0.001));
    ctx.ratios.set(scenario, medianOf(ratios.map((rps) => ({ ...m, rps }))).rps);
    ctx.rows.push({
      config: `floor/${ctx.config}`,
      scenario,
      measurement: floorM,
      rss: null,
      note: `interleaved with ${ctx.config}: ${floorRuns.map((r) => r.rps.toFixed(0)).join('/')} req/s`,
    });
  }
  let after: number | undefined;
  if (options.after) {
    await sleep(5000);
    after = readRss(ctx.server.pid) ?? undefined;
  }
  const note = [
    options.note,
    answers ? undefined : `probe answered ${status || 'nothing'}; ran ${seconds}s`,
    runs.length > 1
      ? `median of ${runs.length}: ${runs.map((r) => r.rps.toFixed(0)).join('/')} req/s`
      : undefined,
  ]
    .filter(Boolean)
    .join('; ');
  ctx.rows.push({
    config: ctx.config,
    scenario,
    measurement: m,
    rss: {
      rest,
      peak: rss.peak,
      ...(after === undefined ? {} : { after }),
      ...(options.keepSeries ? { series: rss.series } : {}),
    },
    note,
    ...(ctx.ratios.has(scenario) ? { ratio: ctx.ratios.get(scenario) } : {}),
  });
  ctx.measured.set(scenario, m);
  const cpu = (x: Measurement | undefined) =>
    (x?.cpuMsPerRequest === undefined ? '' : `  cpu ${x.cpuMsPerRequest.toFixed(2)} ms/req`) +
    (x?.dbCpuMsPerRequest === undefined ? '' : `  db ${x.dbCpuMsPerRequest.toFixed(2)} ms/req`);
  const floorCpu = paired === null ? '' : cpu(ctx.floorMeasured.get(scenario));
  console.log(
    `  ${ctx.config} ${scenario.padEnd(14)} ${m.failed ? 'ERRORS' : m.rps.toFixed(0).padStart(6) + ' req/s'}` +
      `  p50 ${ms(m.p50)}  p99 ${ms(m.p99)}  non-2xx ${m.non2xx}  peak ${mb(rss.peak)} MB` +
      cpu(m) +
      (floorCpu ? ` (floor${floorCpu})` : '') +
      (note ? `  (${note})` : ''),
  );
  return m;
}

async function runScenarios(ctx: RunContext, targets: Target[]): Promise<void> {
  const { f, server } = ctx;
  const has = (s: Scenario) => selected.has(s);
  if (has('health')) await measure(ctx, 'health', [{ method: 'GET', path: '/health/live' }]);
  if (has('get-task')) await measure(ctx, 'get-task', [getTaskRequest(f)]);
  if (has('list-first') || has('list-deep')) {
    const first = has('list-first')
      ? await measure(ctx, 'list-first', [listRequest(f, null)])
      : null;
    if (has('list-deep')) {
      const deep = await deepCursor(server.baseUrl, f);
      const m = await measure(ctx, 'list-deep', [listRequest(f, deep.cursor)], {
        note: `${deep.depth} tasks deep${deep.note ? `, ${deep.note}` : ''}`,
      });
      if (first) {
        const ok =
          first.failed || m.failed || deep.cursor === null
            ? null
            : m.rps >= first.rps * 0.8 &&
              m.rps <= first.rps * 1.2 &&
              m.p50 <= first.p50 * 1.2 + 0.5;
        targets.push({
          config: ctx.config,
          target: 'deep page within 20 % of first page',
          measured: `${m.rps.toFixed(0)} vs ${first.rps.toFixed(0)} req/s (${((m.rps / Math.max(first.rps, 1)) * 100).toFixed(0)} %), p50 ${ms(m.p50)} vs ${ms(first.p50)}, at ${deep.depth}`,
          verdict: verdict(ok),
        });
      }
    }
  }
  if (has('list-poll')) {
    // A client polling the first page with the ETag it holds, while nothing changes: 304s.
    const request = listRequest(f, null);
    const first = await fetch(server.baseUrl + (request.path ?? ''), {
      headers: auth(f.readerToken),
    });
    await first.arrayBuffer();
    const etag = first.headers.get('etag') ?? '';
    await measure(
      ctx,
      'list-poll',
      [{ ...request, headers: { ...auth(f.readerToken), 'if-none-match': etag } }],
      { notModified: true, note: 'list-first with If-None-Match of its current ETag: 304s' },
    );
  }
  for (const [scenario, query] of [
    ['filter-label', `label=${FILTER_LABEL}`],
    ['search', `q=${SEARCH_WORD}`],
  ] as const) {
    if (!has(scenario)) continue;
    const m = await measure(ctx, scenario, [filterRequest(f, query)]);
    targets.push({
      config: ctx.config,
      target: `${scenario} p99 < 50 ms (c=${connections})`,
      measured: m.failed ? 'errors' : ms(m.p99),
      verdict: verdict(m.failed ? null : m.p99 < 50),
    });
  }
  if (has('create')) await measure(ctx, 'create', [createRequest(f)]);
  if (has('patch')) await measure(ctx, 'patch', [patchRequest(f)]);
  const mixed = () =>
    weighted([
      { weight: 50, request: getTaskRequest(f) },
      { weight: 20, request: listRequest(f, null) },
      { weight: 10, request: filterRequest(f, `label=${FILTER_LABEL}`) },
      { weight: 10, request: createRequest(f) },
      { weight: 10, request: patchRequest(f) },
    ]);
  if (has('mix')) {
    const m = await measure(ctx, 'mix', [mixed()], {
      after: true,
      note: `80 % reads / 20 % writes, ${duration}s`,
    });
    const row = ctx.rows[ctx.rows.length - 1];
    if (row?.rss) {
      const { rest, peak, after } = row.rss;
      targets.push({
        config: ctx.config,
        target: 'RSS under load < 200 MB',
        measured: `peak ${mb(peak)} MB`,
        verdict: verdict(m.failed ? null : peak < 200 * 1024 * 1024),
      });
      const near =
        after === undefined ? null : after <= Math.max(rest * 1.25, rest + 30 * 1024 * 1024);
      targets.push({
        config: ctx.config,
        target: 'RSS back near its start 5 s after',
        measured: `${mb(rest)} → ${mb(peak)} → ${after === undefined ? '-' : mb(after)} MB`,
        verdict: verdict(m.failed ? null : near),
      });
    }
  }
  if (has('soak')) {
    // The mixed load for minutes on end: memory that grows with the requests served shows as a
    // later minute's peak above the first's.
    const m = await measure(ctx, 'soak', [mixed()], {
      seconds: soakSeconds,
      repeat: 1,
      keepSeries: true,
      note: `the mix for ${soakSeconds}s`,
    });
    const series = ctx.rows[ctx.rows.length - 1]?.rss?.series ?? [];
    const minute = Math.min(240, Math.floor(series.length / 3)); // 250 ms samples
    if (minute > 0) {
      const first = Math.max(...series.slice(0, minute));
      const last = Math.max(...series.slice(-minute));
      targets.push({
        config: ctx.config,
        target: `no RSS growth over a ${soakSeconds}s soak (last vs first minute peak < +10 MB)`,
        measured: `${mb(first)} → ${mb(last)} MB`,
        verdict: verdict(m.failed ? null : last - first < 10 * 1024 * 1024),
      });
    }
  }
  if (has('login')) {
    await measure(ctx, 'login', [loginRequest(f)], { connections: loginConnections });
  }
  if (has('login-storm')) {
    // Logins (argon2id at full cost) and reads at the same time; the reads' p99 is the figure.
    const storm = drive(server.baseUrl, {
      connections: loginConnections,
      duration: duration + warmup,
      requests: [loginRequest(f)],
    });
    const reads = await measure(ctx, 'storm:get-task', [getTaskRequest(f)], {
      note: `during ${loginConnections} connections of logins`,
    });
    const logins = await storm;
    ctx.rows.push({
      config: ctx.config,
      scenario: 'storm:login',
      measurement: logins,
      rss: null,
      note: 'the storm itself (warm-up included)',
    });
    targets.push({
      config: ctx.config,
      target: 'GET /tasks/{id} p99 < 50 ms during a login storm',
      measured: reads.failed
        ? 'errors'
        : `${ms(reads.p99)} (logins ${logins.failed ? 'errors' : `${logins.rps.toFixed(0)}/s`})`,
      verdict: verdict(reads.failed || logins.failed ? null : reads.p99 < 50),
    });
  }
}

/** The scenarios the floor server answers too; Docket's figures are quoted as ratios of its. */
const FLOOR_SCENARIOS = ['get-task', 'list-first', 'list-deep', 'filter-label', 'search'] as const;
const LIST_SCENARIOS = ['list-first', 'list-deep', 'filter-label', 'search'] as const;

/** Starts the floor server and checks it answers like Docket before anything is timed. */
async function startFloor(f: Fixtures): Promise<Started> {
  const port = await freePort();
  const server = await startServer({
    name: 'floor',
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/floor-server.ts'],
    env: { PORT: String(port), DATABASE_URL: benchUrl(), JWT_SECRET, NODE_ENV: 'production' },
    port,
    readyPath: '/health/ready',
  });
  // The floor must answer like Docket: 200 with the row for a member, 404 for anyone else.
  const taskPath = `/api/v1/tasks/${f.readTaskIds[0]}`;
  const member = await fetch(server.baseUrl + taskPath, { headers: auth(f.readerToken) });
  const row = (await member.json()) as { id?: string };
  const outsider = await fetch(server.baseUrl + taskPath, { headers: auth(f.outsiderToken) });
  await outsider.arrayBuffer();
  const anonymous = await fetch(server.baseUrl + taskPath);
  await anonymous.arrayBuffer();
  const list = await fetch(server.baseUrl + listRequest(f, null).path, {
    headers: auth(f.readerToken),
  });
  const page = (await list.json()) as { items?: unknown[] };
  console.log(
    `floor: ready in ${server.readyMs.toFixed(0)} ms; member ${member.status}` +
      `${row.id === f.readTaskIds[0] ? ' (row)' : ' (wrong body)'}, non-member ${outsider.status}, ` +
      `no token ${anonymous.status}, list ${list.status} (${page.items?.length ?? 0} items)`,
  );
  if (
    member.status !== 200 ||
    row.id !== f.readTaskIds[0] ||
    outsider.status !== 404 ||
    page.items?.length !== 50
  ) {
    await server.stop();
    throw new Error('the floor server does not answer as expected');
  }
  return server;
}

/** Docket against the floor, same run: GET by id ≥ 0.9 × (p99 ≤ 1.5 ×), list pages ≥ 0.85 ×. */
function floorTargets(ctx: RunContext): Target[] {
  const { config, measured, floorMeasured: floor } = ctx;
  const targets: Target[] = [];
  const ratio = (scenario: string, share: number) => {
    const m = measured.get(scenario);
    const base = floor.get(scenario);
    const r = ctx.ratios.get(scenario);
    if (m === undefined || base === undefined || r === undefined) return;
    const failed = m.failed || base.failed;
    targets.push({
      config,
      target: `${scenario} ≥ ${share} × floor req/s`,
      measured: failed
        ? 'errors'
        : `${r.toFixed(2)} × (median of paired runs; ${m.rps.toFixed(0)} vs ${base.rps.toFixed(0)})`,
      verdict: verdict(failed ? null : r >= share),
    });
  };
  ratio('get-task', 0.9);
  const get = measured.get('get-task');
  const getFloor = floor.get('get-task');
  if (get && getFloor) {
    const failed = get.failed || getFloor.failed;
    targets.push({
      config,
      target: 'get-task p99 ≤ 1.5 × floor p99',
      measured: failed
        ? 'errors'
        : `${ms(get.p99)} vs ${ms(getFloor.p99)} (${(get.p99 / Math.max(getFloor.p99, 0.1)).toFixed(1)}×)`,
      verdict: verdict(failed ? null : get.p99 <= 1.5 * Math.max(getFloor.p99, 1)),
    });
  }
  for (const scenario of LIST_SCENARIOS) {
    ratio(scenario, 0.85);
    const m = measured.get(scenario);
    if (m && (scenario === 'list-first' || scenario === 'list-deep')) {
      targets.push({
        config,
        target: `${scenario} p99 < 50 ms (c=${connections})`,
        measured: m.failed ? 'errors' : ms(m.p99),
        verdict: verdict(m.failed ? null : m.p99 < 50),
      });
    }
  }
  return targets;
}

function serverEnv(port: number, redis: boolean): Record<string, string> {
  return {
    // The environment `npm start` sets (MALLOC_ARENA_MAX).
    ...startEnv(),
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: benchUrl(),
    JWT_SECRET,
    // The config's maximum: the bench measures the work, not the limiter's refusals.
    RATE_LIMIT_MAX: '1000000',
    AUTH_RATE_LIMIT_MAX: '1000000',
    LOG_LEVEL: 'warn',
    // No load shedding: an overloaded server should show as latency, not as 503s.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    ...(redis ? { REDIS_URL, REDIS_KEY_PREFIX: 'docket-bench:' } : { REDIS_URL: '' }),
  };
}

/**
 * `VACUUM (ANALYZE)` of the bench database before each configuration, so each starts from what
 * autovacuum would have left after the previous one's writes (the version bumps, the created and
 * patched tasks), also on a server where autovacuum is off.
 */
async function vacuum(): Promise<void> {
  const sql = postgres(benchUrl(), { max: 1, onnotice: () => undefined });
  try {
    const started = performance.now();
    const [setting] = await sql<{ autovacuum: string }[]>`show autovacuum`;
    await sql`vacuum (analyze)`;
    console.log(
      `vacuum: ${((performance.now() - started) / 1000).toFixed(1)} s (autovacuum ${setting?.autovacuum ?? '?'} on this server)`,
    );
  } finally {
    await sql.end();
  }
}

async function startDocket(redis: boolean): Promise<Started> {
  const port = await freePort();
  return startServer({
    name: 'docket',
    command: process.execPath,
    // BENCH_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=bench/results`, to profile the server.
    // As `npm start` runs it.
    args: [
      ...startFlags(),
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      'dist/server.js',
    ],
    env: serverEnv(port, redis),
    port,
    readyPath: '/health/ready',
  });
}

async function main(): Promise<void> {
  const startedAt = new Date();
  console.log(
    `docket bench: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}`,
  );
  console.log(
    `scale ${scale}, ${duration}s per scenario after ${warmup}s warm-up, ${connections} connections` +
      `${selected.has('soak') ? `, ${soakSeconds}s soak` : ''}`,
  );
  const seeded = await seed({ scale, reseed: flags.reseed });
  if (!flags['skip-build']) {
    console.log('build: npm run build');
    execSync('npm run build', { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const f = await fixtures(seeded.plan);
  console.log(
    `fixtures: ${f.readTaskIds.length} readable task ids, ${f.patchTaskIds.length} patchable`,
  );

  const rows: Row[] = [];
  const targets: Target[] = [];
  const startup: Record<string, number> = {};
  let floorServer: Started | null = null;
  if (!flags['no-floor'] && FLOOR_SCENARIOS.some((s) => selected.has(s))) {
    floorServer = await startFloor(f);
  }

  const configs = withRedis ? [false, true] : [false];
  for (const redis of configs) {
    const config = redis ? 'pg+redis' : 'pg';
    await vacuum();
    // Start-up to ready, migrations already applied: the best of three spawns.
    const times: number[] = [];
    for (let i = 0; i < 2; i++) {
      const probeServer = await startDocket(redis);
      times.push(probeServer.readyMs);
      await probeServer.stop();
    }
    const server = await startDocket(redis);
    times.push(server.readyMs);
    const readyMs = Math.min(...times);
    startup[config] = readyMs;
    console.log(
      `${config}: ready in ${times.map((t) => t.toFixed(0)).join(', ')} ms (pid ${server.pid}, ${mb(readRss(server.pid) ?? 0)} MB)`,
    );
    targets.push({
      config,
      target: 'start-up to ready < 1.5 s',
      measured: `${ms(readyMs)} (best of ${times.length})`,
      verdict: verdict(readyMs < 1500),
    });
    const ctx: RunContext = {
      config,
      server,
      f,
      rows,
      measured: new Map(),
      floor: floorServer,
      floorMeasured: new Map(),
      ratios: new Map(),
    };
    try {
      await runScenarios(ctx, targets);
    } finally {
      await server.stop();
    }
    targets.push(...floorTargets(ctx));
  }
  await floorServer?.stop();

  console.log('\nResults (throughput counts 2xx answers only; ERRORS = mostly non-2xx)\n');
  console.log(printResults(rows));
  console.log('\nTargets (informational)\n');
  console.log(printTargets(targets));

  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${startedAt.toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(
    file,
    JSON.stringify(
      {
        startedAt,
        machine: {
          cpus: cpus().length,
          model: cpus()[0]?.model,
          memory: totalmem(),
          node: process.version,
        },
        options: {
          scale,
          duration,
          warmup,
          connections,
          loginConnections,
          soakSeconds: selected.has('soak') ? soakSeconds : null,
          redis: withRedis,
        },
        seed: seeded,
        startup,
        rows,
        targets,
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten ${file}`);
}

const BACKGROUND_SCENARIOS = [
  'bench/relay-lag.ts',
  'bench/jobs.ts',
  'bench/reminders.ts',
  'bench/exports.ts',
  'bench/webhooks.ts',
  'bench/realtime.ts',
];

/** Background work has its own harnesses (no HTTP in the measured path); run them in turn. */
function runBackgroundScenarios(): void {
  for (const script of BACKGROUND_SCENARIOS) {
    console.log(`\n$ tsx ${script}`);
    const run = spawnSync('npx', ['tsx', script], { stdio: 'inherit' });
    if (run.status !== 0) console.log(`${script} exited with ${run.status ?? run.signal}`);
  }
}

try {
  await main();
} finally {
  killAll();
}
if (!flags['no-background'] && !flags.only) runBackgroundScenarios();
