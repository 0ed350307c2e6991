import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { waitFor } from '../helpers/redis-server.js';
import { freePort } from '../helpers/server-process.js';
import { startSmtpServer, tokenFromMail } from '../helpers/smtp.js';

interface MailJob {
  state: string;
  retry_count: number;
  output: { message?: string } | null;
  subject: string;
}

/** The mail queue's jobs, read from pg-boss's table through the app's own connection. */
export async function mailJobs(app: App): Promise<MailJob[]> {
  const result = await app.db.execute(
    sql`select state::text as state, retry_count, output, data->>'subject' as subject
        from pgboss.job where name = 'mail' order by created_on`,
  );
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as MailJob[];
}

let t: TestApp;
let smtpPort: number;
let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;

beforeAll(async () => {
  smtpPort = await freePort();
  t = await createTestApp({
    config: {
      // Nothing listens here until the test starts the SMTP server.
      smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
      mailRetryDelaySeconds: 1,
      jobPollIntervalMs: 500,
    },
  });
});
afterAll(async () => {
  await t.close();
  await smtp?.close();
});

describe('mail queue: an SMTP outage loses no mail', () => {
  it('when SMTP is down at a recovery request, then the mail arrives once SMTP is back, and its link works', async () => {
    const { user } = await createUser(t.app);
    const request = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-recovery',
      payload: { email: user.email },
    });
    expect(request.statusCode).toBe(202);

    // The first attempt failed and is waiting for its retry, with the error kept.
    await waitFor(
      async () => (await mailJobs(t.app)).some((job) => job.retry_count >= 1),
      'a failed mail attempt',
      30_000,
    );
    const [failed] = await mailJobs(t.app);
    expect(failed?.subject).toBe('Reset your Docket password');
    expect(failed?.output?.message).toMatch(/ECONNREFUSED|connect/i);

    smtp = await startSmtpServer(smtpPort);
    const [mail] = await smtp.waitFor(user.email, 1, 60_000);
    const reset = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      payload: { token: tokenFromMail(mail!), new_password: 'a brand new passphrase 7' },
    });
    expect(reset.statusCode).toBe(204);

    await waitFor(
      async () => (await mailJobs(t.app)).every((job) => job.state === 'completed'),
      'the mail job to complete',
    );
    expect(smtp.inbox.filter((received) => received.to.includes(user.email))).toHaveLength(1);
  }, 120_000);

  it('when a recovery request is for an unknown address, then nothing is queued', async () => {
    const before = (await mailJobs(t.app)).length;
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-recovery',
      payload: { email: 'nobody-here@example.com' },
    });
    expect(response.statusCode).toBe(202);
    expect(await mailJobs(t.app)).toHaveLength(before);
  });
});
