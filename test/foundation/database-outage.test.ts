import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { createProject } from '../helpers/projects.js';
import { waitFor } from '../helpers/redis-server.js';
import { POSTGRES_ADMIN_URL, postgresAvailable } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const onPostgres = await postgresAvailable();
if (!onPostgres) {
  console.warn(
    'database-outage: skipped, it needs a PostgreSQL server to terminate connections on ' +
      '(pg_terminate_backend); PGlite has none',
  );
}

// A request that has not answered by then is taken to hang: far beyond any honest answer,
// even on a busy machine, and below the test's own timeout.
const HANG_MS = 20_000;
// A slow statement gives the test time to terminate its connection while it runs.
const SLEEP = sql.raw('pg_sleep(0.5)');

interface Answer {
  status: number;
  body: string;
  retryAfter: string | null;
}

/** Terminates every connection to the app's database from outside it, as an operator would. */
class Terminator {
  readonly #admin = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => undefined });

  constructor(private readonly database: string) {}

  async all(): Promise<number> {
    const rows = await this.#admin`
      select pg_terminate_backend(pid) as done from pg_stat_activity
      where datname = ${this.database} and pid <> pg_backend_pid()`;
    return rows.filter((row) => row.done === true).length;
  }

  /** Waits until a statement that sleeps runs on the app's database, then terminates all. */
  async whileSleeping(): Promise<number> {
    const deadline = Date.now() + HANG_MS;
    while (Date.now() < deadline) {
      const [row] = await this.#admin`
        select count(*)::int as n from pg_stat_activity
        where datname = ${this.database} and state = 'active' and query like '%pg_sleep%'`;
      if ((row?.n as number) > 0) return this.all();
      await sleep(10);
    }
    throw new Error('the slow statement never started');
  }

  close(): Promise<void> {
    return this.#admin.end({ timeout: 1 });
  }
}

function expectDatabaseUnavailable(answer: {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}): void {
  expect(answer.statusCode, answer.body).toBe(503);
  expect(JSON.parse(answer.body)).toMatchObject({ status: 503, code: 'database_unavailable' });
  expect(answer.headers['retry-after']).toBe('1');
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
}

describe.skipIf(!onPostgres)('when the database connections are lost', () => {
  let test: TestApp;
  let terminate: Terminator;
  let owner: TestUser;
  let projectId: string;

  beforeAll(async () => {
    test = await createTestApp({
      // More clients than connections, so queries also wait in the driver's queue.
      config: { databasePoolSize: 4 },
      setup: (app) => {
        // Statements slow enough to be caught in flight, outside and inside a transaction.
        app.get('/test/slow-read', async () => {
          await app.db.execute(sql`select ${SLEEP}`);
          return { ok: true };
        });
        app.post<{ Body: { label: string } }>('/test/slow-write', async (request) => {
          await app.db.execute(
            sql`insert into outage_marks (label) select ${request.body.label} from ${SLEEP}`,
          );
          return { ok: true };
        });
        app.post<{ Body: { label: string } }>(
          '/test/slow-transaction',
          { onRequest: [app.authenticate], config: { idempotent: true } },
          async (request, reply) => {
            await app.db.transaction(async (tx) => {
              await tx.execute(
                sql`insert into outage_marks (label) values (${request.body.label})`,
              );
              await tx.execute(sql`select ${SLEEP}`);
            });
            return reply.code(201).send({ ok: true });
          },
        );
      },
    });
    const database = new URL(test.databaseUrl ?? '').pathname.slice(1);
    terminate = new Terminator(database);
    await test.app.db.execute(sql`create table outage_marks (id serial primary key, label text)`);
    owner = await createUser(test.app);
    projectId = await createProject(test.app, owner);
  });

  afterAll(async () => {
    await terminate?.close();
    await test?.close();
  });

  async function marks(label: string): Promise<number> {
    // On PostgreSQL, Drizzle's execute() resolves to the row list itself.
    const rows: unknown = await test.app.db.execute(
      sql`select count(*)::int as n from outage_marks where label = ${label}`,
    );
    return (rows as { n: number }[])[0]?.n ?? -1;
  }

  it('when the contract is read, then the routes that use the database document the 503', async () => {
    const document = (await test.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const operations = [
      document.paths['/api/v1/projects/{id}/tasks']?.post,
      document.paths['/api/v1/projects/{id}/tasks']?.get,
      document.paths['/api/v1/tasks/{id}']?.patch,
    ];
    for (const operation of operations) expect(operation?.responses).toHaveProperty('503');
  });

  it('when a read loses its connection mid-query, then it is retried on a fresh one and answers 200', async () => {
    const answer = test.app.inject({ url: '/test/slow-read' });
    expect(await terminate.whileSleeping()).toBeGreaterThan(0);
    const response = await answer;
    expect(response.statusCode, response.body).toBe(200);
  });

  it('when a write loses its connection mid-query, then it answers 503 and is not run again', async () => {
    const label = randomUUID();
    const answer = test.app.inject({
      method: 'POST',
      url: '/test/slow-write',
      payload: { label },
    });
    expect(await terminate.whileSleeping()).toBeGreaterThan(0);
    expectDatabaseUnavailable(await answer);
    expect(await marks(label)).toBe(0);
  });

  it('when a transaction loses its connection, then it answers 503, rolls back and the pool serves on', async () => {
    const label = randomUUID();
    const answer = test.app.inject({
      method: 'POST',
      url: '/test/slow-transaction',
      headers: owner.headers,
      payload: { label },
    });
    expect(await terminate.whileSleeping()).toBeGreaterThan(0);
    expectDatabaseUnavailable(await answer);
    expect(await marks(label)).toBe(0);
    // Every connection of the pool answers again (4 at once, more than one each).
    const reads = await Promise.all(
      Array.from({ length: 12 }, () =>
        test.app.inject({ url: `/api/v1/projects/${projectId}/tasks`, headers: owner.headers }),
      ),
    );
    expect(reads.map((read) => read.statusCode)).toEqual(Array(12).fill(200));
  });

  it('when an idempotent request loses its connection, then its key is released for the retry', async () => {
    const label = randomUUID();
    const request = {
      method: 'POST' as const,
      url: '/test/slow-transaction',
      headers: { ...owner.headers, 'idempotency-key': randomUUID() },
      payload: { label },
    };
    const answer = test.app.inject(request);
    expect(await terminate.whileSleeping()).toBeGreaterThan(0);
    expectDatabaseUnavailable(await answer);
    // Not 409 "in progress" until the key counts as abandoned (a minute): it is released as
    // the 503 goes out, or moments later if the database is still away at that instant.
    let retry = await test.app.inject(request);
    for (
      const deadline = Date.now() + HANG_MS;
      retry.statusCode === 409 && Date.now() < deadline;
    ) {
      await sleep(100);
      retry = await test.app.inject(request);
    }
    expect(retry.statusCode, retry.body).toBe(201);
    expect(await marks(label)).toBe(1);
    const replay = await test.app.inject(request);
    expect([replay.statusCode, replay.headers['idempotency-replayed']]).toEqual([201, 'true']);
    expect(await marks(label)).toBe(1);
  });

  it('when every connection is terminated again and again under load, then no request fails with 500 or hangs', async () => {
    const address = await test.app.listen({ port: 0, host: '127.0.0.1' });
    const taskIds = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const response = await test.app.inject({
          method: 'POST',
          url: `/api/v1/projects/${projectId}/tasks`,
          headers: owner.headers,
          payload: { title: `seed ${i}` },
        });
        return response.json<{ id: string }>().id;
      }),
    );
    const requests: ((n: number) => Request)[] = [
      () => new Request(`${address}/api/v1/projects/${projectId}/tasks`),
      (n) => new Request(`${address}/api/v1/tasks/${taskIds[n % taskIds.length]}`),
      (n) =>
        new Request(`${address}/api/v1/projects/${projectId}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ title: `load ${n}` }),
        }),
      (n) =>
        new Request(`${address}/api/v1/tasks/${taskIds[n % taskIds.length]}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ title: `renamed ${n}` }),
        }),
      () => new Request(`${address}/health/ready`),
    ];

    const answers: Answer[] = [];
    const failures: string[] = [];
    let stop = false;
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const n = sent++;
        const request = requests[n % requests.length]?.(n);
        if (request === undefined) throw new Error('no request');
        request.headers.set('authorization', owner.headers.authorization);
        try {
          const response = await fetch(request, { signal: AbortSignal.timeout(HANG_MS) });
          answers.push({
            status: response.status,
            body: await response.text(),
            retryAfter: response.headers.get('retry-after'),
          });
        } catch (error) {
          failures.push(`${request.method} ${request.url}: ${String(error)}`);
        }
      }
    };
    /** Waits, without a clock, until `count` more answers (or failures) have come in. */
    const answered = async (count: number): Promise<void> => {
      const target = answers.length + failures.length + count;
      while (answers.length + failures.length < target) await sleep(5);
    };

    const workers = Array.from({ length: 8 }, worker);
    let terminated = 0;
    try {
      await answered(40);
      for (let round = 0; round < 4; round += 1) {
        terminated += await terminate.all();
        await answered(40);
      }
    } finally {
      stop = true;
      await Promise.all(workers);
    }

    const statuses: Record<number, number> = {};
    for (const answer of answers) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    const summary = JSON.stringify({ terminated, statuses, failures: failures.slice(0, 5) });
    console.info(`database-outage: ${summary}`);
    expect(terminated, summary).toBeGreaterThan(0);
    expect(failures, summary).toEqual([]);
    for (const answer of answers) {
      if (answer.status < 300) continue;
      expect(answer.status, `${answer.body} ${summary}`).toBe(503);
      // Readiness answers 503 with its own body while the database is away; anything else is
      // a problem with the stable code.
      if (answer.body.includes('"database":"unavailable"')) continue;
      expect(JSON.parse(answer.body), summary).toMatchObject({ code: 'database_unavailable' });
      expect(answer.retryAfter, summary).toBe('1');
    }

    // Afterwards the same instance serves reads, writes and readiness, without a restart.
    const read = await fetch(`${address}/api/v1/projects/${projectId}/tasks`, {
      headers: owner.headers,
    });
    expect(read.status).toBe(200);
    const write = await fetch(`${address}/api/v1/projects/${projectId}/tasks`, {
      method: 'POST',
      headers: { ...owner.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'after the outage' }),
    });
    expect(write.status).toBe(201);
    const ready = await fetch(`${address}/health/ready`);
    expect([ready.status, await ready.json()]).toMatchObject([200, { database: 'ok' }]);
  }, 120_000);
});

describe.skipIf(!onPostgres)('when PostgreSQL cannot be reached', () => {
  let proxy: TcpProxy;
  let test: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    const server = new URL(POSTGRES_ADMIN_URL);
    proxy = await TcpProxy.start(server.hostname, Number(server.port || 5432));
    test = await createTestApp({
      databaseUrl: (url) => {
        const viaProxy = new URL(url);
        viaProxy.host = `127.0.0.1:${proxy.port}`;
        return viaProxy.toString();
      },
    });
    user = await createUser(test.app);
  });

  afterAll(async () => {
    await proxy?.start();
    await test?.close();
    await proxy?.stop();
  });

  async function ready(): Promise<{ statusCode: number; body: unknown }> {
    const response = await test.app.inject({ url: '/health/ready' });
    return { statusCode: response.statusCode, body: response.json() };
  }

  it('when the database goes away, then readiness and requests answer 503 until it is back', async () => {
    expect(await ready()).toEqual({
      statusCode: 200,
      body: { status: 'ok', database: 'ok', redis: 'not_configured' },
    });
    await proxy.stop();

    expect(await ready()).toEqual({
      statusCode: 503,
      body: { status: 'unavailable', database: 'unavailable', redis: 'not_configured' },
    });
    expectDatabaseUnavailable(
      await test.app.inject({ url: '/api/v1/projects', headers: user.headers }),
    );
    expectDatabaseUnavailable(
      await test.app.inject({
        method: 'POST',
        url: '/api/v1/projects',
        headers: user.headers,
        payload: { name: 'During the outage' },
      }),
    );

    await proxy.start();
    await waitFor(async () => (await ready()).statusCode === 200, 'readiness to recover', HANG_MS);
    const list = await test.app.inject({ url: '/api/v1/projects', headers: user.headers });
    expect(list.statusCode, list.body).toBe(200);
    const created = await test.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: user.headers,
      payload: { name: 'After the outage' },
    });
    expect(created.statusCode, created.body).toBe(201);
  });
});
