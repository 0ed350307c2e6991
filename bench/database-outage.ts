/**
 * By hand (not part of `npm run bench`): `npx tsx bench/database-outage.ts [--connections 16]
 * [--seconds 10] [--every 1000]`. Starts Docket on a fresh database of the PostgreSQL server at
 * BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres) and drives a mix of
 * reads and writes at it: steady, then while every connection of that database is terminated
 * (pg_terminate_backend) every `--every` ms, then after. Prints the status counts, errors and
 * rates of each phase and what readiness answered; it asserts nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Request } from 'autocannon';
import postgres from 'postgres';
import { AccessTokens } from '../src/modules/auth/access-tokens.js';
import { freePort, killAll, startServer, withReadiness } from './process.js';
import { drive, type Measurement, rotating, weighted } from './scenarios.js';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    every: { type: 'string', default: '1000' },
  },
});
const connections = Number(flags.connections);
const seconds = Number(flags.seconds);
const everyMs = Number(flags.every);

const adminUrl = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
const database = `docket_outage_${randomBytes(4).toString('hex')}`;
await admin.unsafe(`create database "${database}"`);
const databaseUrl = new URL(adminUrl);
databaseUrl.pathname = `/${database}`;

const jwtSecret = randomBytes(32).toString('hex');
const port = await freePort();

async function terminateAll(): Promise<number> {
  const rows = await admin`
    select pg_terminate_backend(pid) as done from pg_stat_activity
    where datname = ${database} and pid <> pg_backend_pid()`;
  return rows.filter((row) => row.done === true).length;
}

/** A user with a live session, written straight to the database, and a token for it. */
async function seedUser(): Promise<string> {
  const sql = postgres(databaseUrl.toString(), { max: 1, onnotice: () => undefined });
  try {
    const [user] = await sql<{ id: string }[]>`
      insert into users (id, email, password_hash, full_name)
      values (gen_random_uuid(), 'outage@example.com', 'not-a-hash', 'Outage Bench')
      returning id`;
    const [session] = await sql<{ id: string }[]>`
      insert into sessions (id, user_id, user_agent, ip_address, expires_at)
      values (gen_random_uuid(), ${user?.id ?? ''}, 'docket-bench', '127.0.0.1', now() + interval '1 day')
      returning id`;
    const signed = await new AccessTokens(jwtSecret, 86_400).sign({
      userId: user?.id ?? '',
      sessionId: session?.id ?? '',
    });
    return signed.token;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

interface Phase {
  name: string;
  measurement: Measurement;
  terminated: number;
  readiness: Record<string, number>;
}

let docket: Awaited<ReturnType<typeof startServer>> | undefined;
try {
  docket = await startServer({
    name: 'docket',
    command: process.execPath,
    args: ['--import', 'tsx', 'src/server.ts'],
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'fatal',
      DATABASE_URL: databaseUrl.toString(),
      JWT_SECRET: jwtSecret,
      RATE_LIMIT_MAX: '1000000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    },
    port,
    readyPath: '/health/ready',
    timeoutMs: 120_000,
  });
  const baseUrl = docket.baseUrl;
  const token = await seedUser();
  const auth = { authorization: `Bearer ${token}` };
  const headers = { ...auth, 'content-type': 'application/json' };
  const project = await fetch(`${baseUrl}/api/v1/projects`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'Outage' }),
  });
  const projectId = ((await project.json()) as { id: string }).id;
  const taskIds: string[] = [];
  for (let i = 0; i < 20; i += 1) {
    const response = await fetch(`${baseUrl}/api/v1/projects/${projectId}/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: `task ${i}` }),
    });
    taskIds.push(((await response.json()) as { id: string }).id);
  }

  const mix: Request = weighted([
    {
      weight: 3,
      request: { method: 'GET', path: `/api/v1/projects/${projectId}/tasks`, headers: auth },
    },
    {
      weight: 3,
      request: rotating({ method: 'GET', headers: auth }, taskIds.length, (i) => ({
        path: `/api/v1/tasks/${taskIds[i]}`,
      })),
    },
    {
      weight: 2,
      request: rotating({ method: 'PATCH', headers }, taskIds.length, (i) => ({
        path: `/api/v1/tasks/${taskIds[i]}`,
        body: JSON.stringify({ title: `renamed ${randomUUID()}` }),
      })),
    },
    {
      weight: 2,
      request: {
        method: 'POST',
        path: `/api/v1/projects/${projectId}/tasks`,
        headers,
        setupRequest: (request) => ({
          ...request,
          headers: { ...headers, 'idempotency-key': randomUUID() },
          body: JSON.stringify({ title: `created ${randomUUID()}` }),
        }),
      },
    },
  ]);

  async function phase(name: string, cutting: boolean): Promise<Phase> {
    let terminated = 0;
    let done = false;
    const killer = (async () => {
      while (cutting && !done) {
        await sleep(everyMs);
        if (!done) terminated += await terminateAll();
      }
    })();
    const [measurement, readiness] = await withReadiness(
      baseUrl,
      drive(baseUrl, { connections, duration: seconds, requests: [mix] }),
    );
    done = true;
    await killer;
    return { name, measurement, terminated, readiness };
  }

  await phase('warm-up', false);
  const phases = [
    await phase('steady', false),
    await phase(`cut every ${everyMs} ms`, true),
    await phase('after', false),
  ];

  console.log(
    `${connections} connections, ${seconds} s per phase, reads and writes 6:4, ` +
      `PostgreSQL ${database}, pool of 10`,
  );
  for (const { name, measurement: m, terminated, readiness } of phases) {
    console.log(
      `${name.padEnd(18)} ${m.allRps.toFixed(0).padStart(6)} answers/s  ` +
        `statuses ${JSON.stringify(m.statusCodes)}  errors ${m.errors}  timeouts ${m.timeouts}  ` +
        `p99 ${m.p99} ms  terminated ${terminated}  readiness ${JSON.stringify(readiness)}`,
    );
  }
} finally {
  await docket?.stop();
  killAll();
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end({ timeout: 5 });
}
