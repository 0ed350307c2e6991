import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import {
  type ImportUploadRow,
  importUploads,
  projectMembers,
  users,
} from '../../db/schema/index.js';

export async function insertUpload(
  tx: Executor,
  upload: typeof importUploads.$inferInsert,
): Promise<void> {
  await tx.insert(importUploads).values(upload);
}

export async function findUpload(db: Executor, id: string): Promise<ImportUploadRow | null> {
  const [row] = await db.select().from(importUploads).where(eq(importUploads.id, id)).limit(1);
  return row ?? null;
}

export async function deleteUpload(db: Executor, id: string): Promise<void> {
  await db.delete(importUploads).where(eq(importUploads.id, id));
}

/** The project's members by lower-cased email, for `assignee_email`. */
export async function memberIdsByEmail(
  db: Executor,
  projectId: string,
): Promise<Map<string, string>> {
  const rows = await db
    .select({ userId: projectMembers.userId, email: users.email })
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(eq(projectMembers.projectId, projectId));
  return new Map(rows.map((row) => [row.email.toLowerCase(), row.userId]));
}
