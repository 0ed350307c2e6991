import { and, asc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { calendarTokens, projectMembers, projects, tasks, users } from '../../db/schema/index.js';
import type { CalendarTask } from './ics.js';

/** Stores the token of a user for a project, replacing the one it had. */
export async function replaceCalendarToken(
  tx: Executor,
  userId: string,
  projectId: string,
  tokenHash: string,
): Promise<void> {
  await tx
    .insert(calendarTokens)
    .values({ userId, projectId, tokenHash })
    .onConflictDoUpdate({
      target: [calendarTokens.userId, calendarTokens.projectId],
      set: { tokenHash, createdAt: sql`now()` },
    });
}

/**
 * The project a feed token opens: only while its user is an active member of that project.
 */
export async function findCalendarProject(
  db: Executor,
  projectId: string,
  tokenHash: string,
): Promise<{ name: string } | null> {
  const [row] = await db
    .select({ name: projects.name })
    .from(calendarTokens)
    .innerJoin(
      projectMembers,
      and(
        eq(projectMembers.projectId, calendarTokens.projectId),
        eq(projectMembers.userId, calendarTokens.userId),
      ),
    )
    .innerJoin(users, and(eq(users.id, calendarTokens.userId), eq(users.isActive, true)))
    .innerJoin(projects, eq(projects.id, calendarTokens.projectId))
    .where(and(eq(calendarTokens.tokenHash, tokenHash), eq(calendarTokens.projectId, projectId)))
    .limit(1);
  return row ?? null;
}

/** The project's open tasks with a due date, soonest first (`tasks_project_due_idx`). */
export async function listCalendarTasks(
  db: Executor,
  projectId: string,
  limit: number,
): Promise<CalendarTask[]> {
  const rows = await db
    .select({
      id: tasks.id,
      title: tasks.title,
      description: tasks.description,
      labels: tasks.labels,
      dueAt: tasks.dueAt,
      recurrence: tasks.recurrence,
      timezone: tasks.timezone,
      updatedAt: tasks.updatedAt,
    })
    .from(tasks)
    .where(
      and(
        eq(tasks.projectId, projectId),
        isNotNull(tasks.dueAt),
        inArray(tasks.status, ['todo', 'in_progress']),
      ),
    )
    .orderBy(asc(tasks.dueAt), asc(tasks.id))
    .limit(limit);
  return rows.filter((row): row is CalendarTask => row.dueAt !== null);
}
