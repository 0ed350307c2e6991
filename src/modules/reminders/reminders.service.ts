import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import type { TaskRow } from '../../db/schema/index.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { mailQueue } from '../../jobs/mail.js';
import { reminderQueue } from '../../jobs/reminders.js';
import type { Clock } from '../../lib/clock.js';
import { escapeHtml, type Mail } from '../../lib/mailer.js';
import { insertEvents } from '../activity/events.repository.js';
import { isDateOnly } from '../tasks/recurrence.js';
import { toTaskPublic } from '../tasks/tasks.service.js';
import { claimDueReminders, findRecipientEmails } from './reminders.repository.js';

// A formatter takes about a quarter of a millisecond to build, and a batch mails up to 500
// reminders in a handful of zones: each (zone, style) is built once. Zones are stored canonical.
const dueFormats = new Map<string, Intl.DateTimeFormat>();

function dueFormat(timeZone: string, dateOnly: boolean): Intl.DateTimeFormat {
  const key = `${dateOnly ? 'date' : 'date-time'} ${timeZone}`;
  let format = dueFormats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-GB', {
      dateStyle: 'full',
      ...(dateOnly ? {} : { timeStyle: 'short' }),
      timeZone,
    });
    dueFormats.set(key, format);
  }
  return format;
}

/** The due date as its reader would say it: in the task's time zone, without a time if it has none. */
function dueText(task: TaskRow): string {
  const timeZone = task.timezone ?? 'UTC';
  const dueAt = task.dueAt ?? new Date(0);
  const dateOnly = isDateOnly(dueAt, timeZone);
  const text = dueFormat(timeZone, dateOnly).format(dueAt);
  return dateOnly ? `on ${text}` : `${text} (${timeZone})`;
}

/** Reminders claimed per transaction. */
const BATCH = 500;

export interface RemindersServiceOptions {
  db: Database;
  jobs: JobQueue;
  config: Config;
  clock: Clock;
}

/**
 * Reminders fire once at `remind_at`: a `task.reminder` event and a mail to the assignee (or
 * the creator of an unassigned task). Whoever fires one (its job, another reminder's job, or
 * the sweeper) marks it sent in the same statement that checks it is still due and unsent,
 * skipping rows another worker holds, so it fires once however many workers try; the event
 * and the mail commit with that mark.
 */
export class RemindersService {
  private readonly db: Database;
  private readonly jobs: JobQueue;
  private readonly config: Config;
  private readonly clock: Clock;

  constructor({ db, jobs, config, clock }: RemindersServiceOptions) {
    this.db = db;
    this.jobs = jobs;
    this.config = config;
    this.clock = clock;
  }

  /** Plans the reminder of a task in `tx`, the transaction that sets its `remind_at`. */
  async plan(tx: Executor, taskId: string, remindAt: Date): Promise<void> {
    await this.jobs.send(
      tx,
      reminderQueue,
      { taskId, remindAt: remindAt.toISOString() },
      { startAfter: remindAt },
    );
  }

  /**
   * Fires every reminder that is due and was not sent, a batch per transaction; returns how
   * many. A reminder's job and the minute sweeper both come here: the job is a wake-up at
   * `remind_at`, so a job whose reminder moved, was sent, or whose task was completed or
   * deleted finds nothing of its own to do, and when many reminders fall due together the
   * first jobs fire them in batches and the rest find them sent.
   */
  async fireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await this.db.transaction(async (tx) => {
        const claimed = await claimDueReminders(tx, this.clock.now(), BATCH);
        await this.deliver(tx, claimed);
        return claimed.length;
      });
      total += count;
      if (count < BATCH) return total;
    }
  }

  /** The events and mails of claimed reminders, each written with one statement. */
  private async deliver(tx: Executor, claimed: TaskRow[]): Promise<void> {
    await insertEvents(
      tx,
      claimed.map((task) => ({
        type: 'task.reminder' as const,
        projectId: task.projectId,
        actorId: null,
        entityId: task.id,
        data: toTaskPublic(task),
      })),
    );
    const recipientOf = (task: TaskRow) => task.assigneeId ?? task.createdBy;
    const ids = [...new Set(claimed.map(recipientOf).filter((id) => id !== null))];
    const emails = await findRecipientEmails(tx, ids);
    const mails: Mail[] = [];
    for (const task of claimed) {
      const to = emails.get(recipientOf(task) ?? '');
      if (to !== undefined) mails.push(this.mail(task, to));
    }
    await this.jobs.sendMany(
      tx,
      mailQueue,
      mails.map((payload) => ({ payload })),
    );
  }

  private mail(task: TaskRow, to: string): Mail {
    const link = `${this.config.publicUrl}/tasks/${task.id}`;
    const due = task.dueAt === null ? 'It has no due date.' : `It is due ${dueText(task)}.`;
    const title = task.title.length > 150 ? `${task.title.slice(0, 150)}…` : task.title;
    return {
      to,
      subject: `Reminder: ${title}`,
      text: `A reminder for “${task.title}”. ${due}\n\n${link}\n`,
      html:
        `<p>A reminder for “${escapeHtml(task.title)}”. ${escapeHtml(due)}</p>` +
        `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`,
    };
  }
}
