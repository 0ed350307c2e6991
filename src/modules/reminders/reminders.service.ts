import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import type { TaskRow } from '../../db/schema/index.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { enqueueMail } from '../../jobs/mail.js';
import { reminderQueue } from '../../jobs/reminders.js';
import type { Clock } from '../../lib/clock.js';
import { escapeHtml } from '../../lib/mailer.js';
import { insertEvent } from '../activity/events.repository.js';
import { toTaskPublic } from '../tasks/tasks.service.js';
import { claimDueReminders, claimReminder, findRecipient } from './reminders.repository.js';

/** Reminders claimed per sweeper transaction. */
const SWEEP_BATCH = 500;

export interface RemindersServiceOptions {
  db: Database;
  jobs: JobQueue;
  config: Config;
  clock: Clock;
}

/**
 * Reminders fire once at `remind_at`: a `task.reminder` event and a mail to the assignee (or
 * the creator of an unassigned task). Whoever fires one (its job, or the sweeper) first marks
 * it sent in the same statement that checks it is still due, so it fires once however many
 * workers try; the event and the mail commit with that mark.
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

  /** Fires the reminder planned for `remindAt`; false when it is no longer due or already sent. */
  async fire(taskId: string, remindAt: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const task = await claimReminder(tx, taskId, remindAt, this.clock.now());
      if (task === null) return false;
      await this.deliver(tx, task);
      return true;
    });
  }

  /** Fires every reminder that is due and was not sent; returns how many. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await this.db.transaction(async (tx) => {
        const claimed = await claimDueReminders(tx, this.clock.now(), SWEEP_BATCH);
        for (const task of claimed) await this.deliver(tx, task);
        return claimed.length;
      });
      total += count;
      if (count < SWEEP_BATCH) return total;
    }
  }

  private async deliver(tx: Executor, task: TaskRow): Promise<void> {
    await insertEvent(tx, {
      type: 'task.reminder',
      projectId: task.projectId,
      actorId: null,
      entityId: task.id,
      data: toTaskPublic(task),
    });
    const userId = task.assigneeId ?? task.createdBy;
    const recipient = userId === null ? null : await findRecipient(tx, userId);
    if (recipient === null) return;
    const link = `${this.config.publicUrl}/tasks/${task.id}`;
    const due =
      task.dueAt === null ? 'It has no due date.' : `It is due ${task.dueAt.toISOString()}.`;
    const title = task.title.length > 150 ? `${task.title.slice(0, 150)}…` : task.title;
    await enqueueMail(this.jobs, tx, {
      to: recipient.email,
      subject: `Reminder: ${title}`,
      text: `A reminder for “${task.title}”. ${due}\n\n${link}\n`,
      html:
        `<p>A reminder for “${escapeHtml(task.title)}”. ${escapeHtml(due)}</p>` +
        `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`,
    });
  }
}
