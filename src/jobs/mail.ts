import Type from 'typebox';
import type { Executor } from '../db/client.js';
import type { Mail, Mailer } from '../lib/mailer.js';
import type { JobHandler, JobQueue } from './job-queue.js';
import { defineQueue } from './queues.js';

const MailSchema = Type.Object({
  to: Type.String({ minLength: 3, maxLength: 320 }),
  subject: Type.String({ maxLength: 998 }),
  text: Type.String(),
  html: Type.String(),
});

/**
 * Every outgoing mail. A mail that the SMTP server does not accept is retried with backoff
 * (`MAIL_RETRY_LIMIT` times, from `MAIL_RETRY_DELAY_SECONDS`). Mails carry single-use links,
 * so a sent one is kept only an hour.
 */
export const mailQueue = defineQueue('mail', MailSchema, (config) => ({
  retryLimit: config.mailRetryLimit,
  retryDelaySeconds: config.mailRetryDelaySeconds,
  expireInSeconds: 120,
  keepFinishedSeconds: 3600,
  batchSize: 10,
}));

export function mailHandler(mailer: Mailer): JobHandler<typeof mailQueue> {
  return (mail) => mailer.deliver(mail);
}

/** Queues a mail in `tx`: it is sent if, and only if, the transaction commits. */
export async function enqueueMail(jobs: JobQueue, tx: Executor, mail: Mail): Promise<void> {
  await jobs.send(tx, mailQueue, mail);
}
