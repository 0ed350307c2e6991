import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/redis-server.js';
import {
  freePort,
  type ServerProcess,
  startServer,
  startWorker,
  waitUntilReady,
} from '../helpers/server-process.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';
import { startSmtpServer, tokenFromMail } from '../helpers/smtp.js';

// Several processes on one database need a database server; PGlite belongs to one process.
const onPostgres = await postgresAvailable();
if (!onPostgres) console.warn('PostgreSQL unreachable: the multi-process mail tests are skipped');

const PASSWORD = 'a sturdy passphrase 42';
const RESET_SUBJECT = 'Reset your Docket password';

type Smtp = Awaited<ReturnType<typeof startSmtpServer>>;
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanup.push(() => db.drop());
  return db;
}

function env(db: TestDatabase, smtpPort: number, extra: Record<string, string> = {}) {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '3',
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_RETRY_DELAY_SECONDS: '1',
    JOB_POLL_INTERVAL_MS: '500',
    AUTH_RATE_LIMIT_MAX: '1000',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...extra,
  };
}

async function server(environment: Record<string, string>): Promise<ServerProcess> {
  const started = startServer(environment, await freePort());
  cleanup.push(() => stop(started, 'SIGKILL'));
  await waitUntilReady(started, 60_000);
  return started;
}

async function stop(process: ServerProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (process.child.exitCode === null && process.child.signalCode === null) {
    process.child.kill(signal);
    await once(process.child, 'exit');
  }
  return process.child.exitCode;
}

async function smtpOn(port: number): Promise<Smtp> {
  const smtp = await startSmtpServer(port);
  cleanup.push(() => smtp.close());
  return smtp;
}

async function post(target: ServerProcess, path: string, body: unknown): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${target.port}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

async function registerAndRecover(target: ServerProcess, email: string): Promise<void> {
  expect(await post(target, '/auth/register', { email, password: PASSWORD })).toBe(201);
  expect(await post(target, '/auth/password-recovery', { email })).toBe(202);
}

/** Mail jobs as pg-boss stores them, read straight from the database. */
async function mailJobs(
  url: string,
): Promise<{ state: string; retry_count: number; to: string }[]> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await sql`select state::text as state, retry_count, data->>'to' as to
                     from pgboss.job where name = 'mail' and data->>'subject' = ${RESET_SUBJECT}`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function resetMails(smtp: Smtp, email: string) {
  return smtp.inbox.filter(
    (mail) => mail.to.includes(email) && mail.raw.includes(`Subject: ${RESET_SUBJECT}`),
  );
}

describe.skipIf(!onPostgres)('mail across processes', () => {
  it('when the server is killed (-9) while SMTP is down, then the recovery mail arrives after a restart once SMTP is back', async () => {
    const db = await database();
    const smtpPort = await freePort();
    const first = await server(env(db, smtpPort));
    await registerAndRecover(first, 'crash@example.com');
    await waitFor(
      async () => (await mailJobs(db.url)).some((job) => job.retry_count >= 1),
      'a failed attempt',
      30_000,
    );

    await stop(first, 'SIGKILL');
    const smtp = await smtpOn(smtpPort);
    const second = await server(env(db, smtpPort));

    const [mail] = await smtp
      .waitFor('crash@example.com', 2, 60_000)
      .then(() => resetMails(smtp, 'crash@example.com'));
    expect(mail).toBeDefined();
    expect(
      await post(second, '/auth/password-reset', {
        token: tokenFromMail(mail!),
        new_password: 'another sturdy passphrase 9',
      }),
    ).toBe(204);
    await waitFor(
      async () => (await mailJobs(db.url)).every((job) => job.state === 'completed'),
      'the job to complete',
      30_000,
    );
    expect(resetMails(smtp, 'crash@example.com')).toHaveLength(1);
  }, 180_000);

  it('when two instances share the database, then each queued mail is delivered exactly once', async () => {
    const db = await database();
    const smtpPort = await freePort();
    const instances = [await server(env(db, smtpPort)), await server(env(db, smtpPort))];
    const emails = [0, 1, 2, 3, 4, 5].map((n) => `twin-${n}@example.com`);
    for (const [n, email] of emails.entries()) {
      await registerAndRecover(instances[n % 2]!, email);
    }
    // Queued while SMTP is down, so both instances are polling for the same jobs when it returns.
    await waitFor(
      async () => (await mailJobs(db.url)).every((job) => job.retry_count >= 1),
      'every mail to have failed once',
      60_000,
    );
    const smtp = await smtpOn(smtpPort);
    await waitFor(
      async () => {
        const jobs = await mailJobs(db.url);
        return jobs.length === emails.length && jobs.every((job) => job.state === 'completed');
      },
      'every mail job to complete',
      90_000,
    );
    for (const email of emails) expect(resetMails(smtp, email), email).toHaveLength(1);
  }, 240_000);

  it('when the server runs with WORKERS=false, then the mail waits for `npm run worker`, which delivers it', async () => {
    const db = await database();
    const smtpPort = await freePort();
    const smtp = await smtpOn(smtpPort);
    const web = await server(env(db, smtpPort, { WORKERS: 'false' }));
    await registerAndRecover(web, 'split@example.com');
    expect((await mailJobs(db.url)).map((job) => job.state)).toEqual(['created']);
    expect(smtp.inbox).toHaveLength(0);

    const worker = startWorker(env(db, smtpPort));
    cleanup.push(() => stop(worker, 'SIGKILL'));
    await smtp.waitFor('split@example.com', 2, 60_000);
    const [mail] = resetMails(smtp, 'split@example.com');
    expect(
      await post(web, '/auth/password-reset', {
        token: tokenFromMail(mail!),
        new_password: 'another sturdy passphrase 9',
      }),
    ).toBe(204);
    expect(await stop(worker, 'SIGTERM'), worker.output()).toBe(0);
  }, 180_000);
});

describe('mail across a crash on the embedded database', () => {
  it('when `npm start` on PGlite is killed (-9) while SMTP is down, then the recovery mail arrives after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-crash-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const smtpPort = await freePort();
    const environment = {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_RETRY_DELAY_SECONDS: '1',
      JOB_POLL_INTERVAL_MS: '500',
      AUTH_RATE_LIMIT_MAX: '1000',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    };
    const first = await server(environment);
    await registerAndRecover(first, 'embedded@example.com');
    // Two mails (verification and recovery) have each failed once: the server's own figures say so.
    await waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${first.port}/metrics`);
        const match = /docket_job_failures_total\{queue="mail"\} (\d+)/.exec(await response.text());
        return Number(match?.[1] ?? 0) >= 2;
      },
      'failed attempts',
      30_000,
    );

    await stop(first, 'SIGKILL');
    const smtp = await smtpOn(smtpPort);
    const second = await server(environment);
    await smtp.waitFor('embedded@example.com', 2, 60_000);
    const mails = resetMails(smtp, 'embedded@example.com');
    expect(mails).toHaveLength(1);
    expect(
      await post(second, '/auth/password-reset', {
        token: tokenFromMail(mails[0]!),
        new_password: 'another sturdy passphrase 9',
      }),
    ).toBe(204);
  }, 180_000);
});
