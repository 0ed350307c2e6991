import Type from 'typebox';
import type { JobHandler } from './job-queue.js';
import { defineQueue } from './queues.js';
import type { RemindersService } from '../modules/reminders/reminders.service.js';

const ReminderSchema = Type.Object({
  taskId: Type.String({ format: 'uuid', maxLength: 36 }),
  /** The `remind_at` the job was planned for; a job for an older value does nothing. */
  remindAt: Type.String({ format: 'date-time', maxLength: 40 }),
});

/**
 * One job per planned reminder, due at `remind_at`: it fires whatever is due then (see
 * `RemindersService.fireDue`). Changing `remind_at` plans a new job and leaves the old one
 * with nothing of its own to do; so do completing and deleting the task.
 */
export const reminderQueue = defineQueue('reminder', ReminderSchema, {
  retryLimit: 5,
  retryDelaySeconds: 10,
  expireInSeconds: 120,
  keepFinishedSeconds: 86_400,
  batchSize: 50,
  concurrency: 2,
});

/**
 * Every minute, across all instances: fires reminders that are due but were not sent (their
 * job was lost, failed for good, or the task was written without one, e.g. restored from a
 * backup). Late, once, rather than never.
 */
export const reminderSweepQueue = defineQueue('reminder-sweep', Type.Object({}), {
  cron: '* * * * *',
  retryLimit: 1,
  retryDelaySeconds: 30,
  expireInSeconds: 600,
  keepFinishedSeconds: 3600,
});

export function reminderHandler(reminders: RemindersService): JobHandler<typeof reminderQueue> {
  return async () => ({ fired: await reminders.fireDue() });
}

export function reminderSweepHandler(
  reminders: RemindersService,
): JobHandler<typeof reminderSweepQueue> {
  return async () => ({ fired: await reminders.fireDue() });
}
