import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type UserJobRow, userJobs } from '../../db/schema/index.js';

export async function insertUserJob(
  db: Executor,
  job: Pick<UserJobRow, 'id' | 'userId' | 'kind'>,
): Promise<UserJobRow> {
  const [row] = await db.insert(userJobs).values(job).returning();
  if (row === undefined) throw new Error('job not inserted');
  return row;
}

export async function findUserJob(
  db: Executor,
  userId: string,
  id: string,
): Promise<UserJobRow | null> {
  const [row] = await db
    .select()
    .from(userJobs)
    .where(and(eq(userJobs.id, id), eq(userJobs.userId, userId)));
  return row ?? null;
}

export type UserJobChanges = Partial<
  Pick<UserJobRow, 'status' | 'progress' | 'result' | 'error' | 'finishedAt'>
>;

export async function updateUserJob(
  db: Executor,
  id: string,
  changes: UserJobChanges,
): Promise<UserJobRow | null> {
  const [row] = await db
    .update(userJobs)
    .set({ ...changes, version: sql`${userJobs.version} + 1`, updatedAt: sql`now()` })
    .where(eq(userJobs.id, id))
    .returning();
  return row ?? null;
}
