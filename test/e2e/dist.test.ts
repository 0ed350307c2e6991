import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, startFlags } from '../../bench/process.js';
import { openDatabase, resultRows } from '../../src/db/client.js';
import {
  freePort,
  type ServerProcess,
  startServer,
  waitUntilReady,
} from '../helpers/server-process.js';
import {
  createTestDatabase,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  type TestDatabase,
  uniquePrefix,
} from '../helpers/services.js';
import { startSmtpServer } from '../helpers/smtp.js';

/**
 * dist/ as the production image runs it: the bundle `npm run build` makes (scripts/build.mjs),
 * with no TypeScript tooling. The build runs first so the tests exercise the source as it is
 * now. What only the bundle can get wrong is checked here: the packages left outside it resolve
 * from dist/, the modules loaded on first use (PGlite, the common-password list, the SMTP
 * client) load, and the migrations are found beside the bundle.
 */
const run = promisify(execFile);
const journal = JSON.parse(readFileSync('src/db/migrations/meta/_journal.json', 'utf8')) as {
  entries: unknown[];
};

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

let env: Record<string, string>;
// The operator commands and the worker run on PostgreSQL where it is reachable.
const pgOk = await postgresAvailable();
if (!pgOk) console.warn('PostgreSQL unreachable: dist/worker.js is not tested (it needs a server)');
const redisOk = await redisAvailable();
let testDb: TestDatabase | null = null;
let dataDir: string;

async function cli(...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function query<T>(statement: ReturnType<typeof sql>): Promise<T[]> {
  const database = await openDatabase({ url: testDb?.url ?? null, dataDir, poolSize: 1 });
  try {
    return resultRows<T>(await database.db.execute(statement));
  } finally {
    await database.close();
  }
}

beforeAll(async () => {
  await run('npm', ['run', 'build'], { env: { ...process.env } });
  testDb = pgOk ? await createTestDatabase() : null;
  dataDir = mkdtempSync(join(tmpdir(), 'docket-cli-'));
  env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ...(testDb ? { DATABASE_URL: testDb.url } : {}),
  };
}, 180_000);

afterAll(async () => {
  await testDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('node dist/cli.js on a fresh database', () => {
  it('when migrate runs, then every migration is applied, and running it again is harmless', async () => {
    const first = await cli('migrate');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^migrations applied \((postgres|pglite)\)$/m);
    const again = await cli('migrate');
    expect(again.code, again.stderr).toBe(0);
    const [row] = await query<{ n: number | string }>(
      sql`select count(*) as n from drizzle.__drizzle_migrations`,
    );
    expect(Number(row?.n)).toBe(journal.entries.length);
  });

  it('when create-superuser is given an email and password, then that superuser exists', async () => {
    const created = await cli(
      'create-superuser',
      '--email',
      'Admin@Example.com',
      '--password',
      'cli superuser passphrase',
      '--name',
      'Ada Admin',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('superuser admin@example.com created');
    const rows = await query<{ is_superuser: boolean; full_name: string }>(
      sql`select is_superuser, full_name from users where email = 'admin@example.com'`,
    );
    expect(rows).toEqual([{ is_superuser: true, full_name: 'Ada Admin' }]);

    const taken = await cli(
      'create-superuser',
      '--email',
      'admin@example.com',
      '--password',
      'x'.repeat(12) + ' another',
    );
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('already exists');
  });

  it('when the password is too weak, then it says why and exits 1', async () => {
    const weak = await cli(
      'create-superuser',
      '--email',
      'weak@example.com',
      '--password',
      'short',
    );
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/password/i);
    expect(weak.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [[], 'no command given'],
    [['frobnicate'], 'unknown command: frobnicate'],
    [['create-superuser', '--email', 'a@example.com'], 'create-superuser needs --password'],
    [['create-superuser', '--emial', 'a@example.com'], "Unknown option '--emial'"],
    [['migrate', 'now'], 'unexpected argument: now'],
  ])(
    'when called with %j, then it names the mistake, shows usage and exits 2',
    async (args, message) => {
      const outcome = await cli(...args);
      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain(message);
      expect(outcome.stderr).toContain('usage: node dist/cli.js');
      expect(outcome.stderr).not.toMatch(/\n\s+at /);
    },
  );

  it('when help is asked for, then usage goes to stdout and it exits 0', async () => {
    const help = await cli('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('create-superuser --email');
  });

  it('when the configuration is invalid, then it names the variable and exits 1', async () => {
    const bad = await run(process.execPath, ['dist/cli.js', 'migrate'], {
      env: { ...env, DATABASE_URL: 'mysql://nope' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Invalid configuration: DATABASE_URL');
  });
});

const SECRET = 'dist-secret-that-is-long-enough-for-hs256-0123456789';
const PASSPHRASE = 'a sturdy bundled passphrase';

async function call(
  server: ServerProcess,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string; type: string }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, init);
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get('content-type') ?? '',
  };
}

function postJson(server: ServerProcess, path: string, body: unknown) {
  return call(server, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('node dist/server.js', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  async function start(
    extra: Record<string, string>,
    entry = 'dist/server.js',
  ): Promise<ServerProcess> {
    const server = startServer(
      {
        // As `npm start` runs it: its environment and Node flags (package.json).
        ...startEnv(),
        NODE_ENV: 'production',
        JWT_SECRET: SECRET,
        MAIL_RETRY_DELAY_SECONDS: '1',
        JOB_POLL_INTERVAL_MS: '500',
        SHUTDOWN_DRAIN_DELAY_MS: '0',
        MAX_EVENT_LOOP_DELAY_MS: '0',
        ...extra,
      },
      entry === 'dist/server.js' ? await freePort() : 0,
      [...startFlags(), entry],
    );
    stops.push(async () => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      await server.exit;
    });
    return server;
  }

  it('when started on the embedded database, then the docs, passwords and mail all work', async () => {
    const smtp = await startSmtpServer();
    stops.push(() => smtp.close());
    const server = await start({
      DATA_DIR: mkdtempSync(join(tmpdir(), 'docket-dist-')),
      SMTP_URL: smtp.url,
    });
    await waitUntilReady(server);

    // Assets served from the packages outside the bundle.
    const css = await call(server, '/docs/static/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.body.length).toBeGreaterThan(10_000);
    const redoc = await call(server, '/redoc/redoc.standalone.js');
    expect(redoc.status).toBe(200);
    expect(redoc.type).toContain('javascript');
    const spec = await call(server, '/openapi.json');
    expect(spec.status).toBe(200);
    expect((JSON.parse(spec.body) as { openapi: string }).openapi).toMatch(/^3\.1/);

    // The common-password list, loaded on first use.
    const common = await postJson(server, '/api/v1/auth/register', {
      email: 'common@example.com',
      password: 'password123',
    });
    expect(common.status).toBe(422);
    expect(common.body).toContain('too_common');

    // argon2 (a native addon outside the bundle), the job queue and the SMTP client.
    const registered = await postJson(server, '/api/v1/auth/register', {
      email: 'bundle@example.com',
      password: PASSPHRASE,
    });
    expect(registered.status, registered.body).toBe(201);
    const [mail] = await smtp.waitFor('bundle@example.com', 1, 30_000);
    expect(mail?.raw).toContain('Subject: ');
    const token = await call(server, '/api/v1/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'bundle@example.com',
        password: PASSPHRASE,
      }),
    });
    expect(token.status, token.body).toBe(200);
    expect(JSON.parse(token.body)).toHaveProperty('access_token');

    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(server.output()).not.toMatch(/"level":[56]0/);
  });

  it.runIf(redisOk)(
    'when REDIS_URL is set, then the client loaded on start-up connects',
    async () => {
      const server = await start({
        DATA_DIR: mkdtempSync(join(tmpdir(), 'docket-dist-')),
        REDIS_URL,
        REDIS_KEY_PREFIX: uniquePrefix(),
      });
      await waitUntilReady(server);
      const ready = await call(server, '/health/ready');
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.body)).toMatchObject({ redis: 'ok' });
    },
  );

  it.runIf(pgOk)(
    'when the API runs without workers on PostgreSQL, then dist/worker.js sends its mail',
    async () => {
      const smtp = await startSmtpServer();
      stops.push(() => smtp.close());
      const shared = { DATABASE_URL: testDb!.url, SMTP_URL: smtp.url };
      const api = await start({ ...shared, WORKERS: 'false' });
      await waitUntilReady(api);
      const worker = await start(shared, 'dist/worker.js');

      const registered = await postJson(api, '/api/v1/auth/register', {
        email: 'worker@example.com',
        password: PASSPHRASE,
      });
      expect(registered.status, registered.body).toBe(201);
      expect(await smtp.waitFor('worker@example.com', 1, 30_000)).toHaveLength(1);

      worker.child.kill('SIGTERM');
      expect(await worker.exit).toBe(0);
    },
  );
});
