import { and, asc, eq, inArray, isNotNull, isNull, lte } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type TaskRow, tasks, users } from '../../db/schema/index.js';
import { taskColumns } from '../tasks/tasks.repository.js';

/** Reminders fire only for tasks still to do. */
const OPEN = ['todo', 'in_progress'] as const;

/**
 * Claims up to `limit` reminders due at `now` that were not sent, oldest first, skipping rows
 * another sweeper holds (`tasks_reminder_due_idx`).
 */
export async function claimDueReminders(
  tx: Executor,
  now: Date,
  limit: number,
): Promise<TaskRow[]> {
  const due = tx
    .select({ id: tasks.id })
    .from(tasks)
    .where(
      and(
        isNull(tasks.reminderSentAt),
        isNotNull(tasks.remindAt),
        inArray(tasks.status, [...OPEN]),
        lte(tasks.remindAt, now),
      ),
    )
    .orderBy(asc(tasks.remindAt))
    .limit(limit)
    .for('update', { skipLocked: true });
  return tx
    .update(tasks)
    .set({ reminderSentAt: now })
    .where(and(inArray(tasks.id, due), isNull(tasks.reminderSentAt)))
    .returning(taskColumns);
}

/** The addresses reminders go to, by user id: active accounts only. */
export async function findRecipientEmails(
  tx: Executor,
  userIds: string[],
): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await tx
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(and(inArray(users.id, userIds), eq(users.isActive, true)));
  return new Map(rows.map(({ id, email }) => [id, email]));
}
