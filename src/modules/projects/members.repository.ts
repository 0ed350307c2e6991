import { and, asc, eq, gt } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type ProjectMemberRow, projectMembers, users } from '../../db/schema/index.js';
import type { Role } from './roles.js';

export interface MemberRow {
  userId: string;
  email: string;
  fullName: string | null;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
}

const memberColumns = {
  userId: projectMembers.userId,
  email: users.email,
  fullName: users.fullName,
  role: projectMembers.role,
  createdAt: projectMembers.createdAt,
  updatedAt: projectMembers.updatedAt,
};

export async function insertMember(
  tx: Executor,
  member: Pick<ProjectMemberRow, 'projectId' | 'userId' | 'role'>,
): Promise<boolean> {
  const rows = await tx
    .insert(projectMembers)
    .values(member)
    .onConflictDoNothing()
    .returning({ userId: projectMembers.userId });
  return rows.length > 0;
}

export async function findMember(
  db: Executor,
  projectId: string,
  userId: string,
): Promise<MemberRow | null> {
  const [row] = await db
    .select(memberColumns)
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .limit(1);
  return row ?? null;
}

export async function listMembers(
  db: Executor,
  projectId: string,
  afterUserId: string | null,
  limit: number,
): Promise<MemberRow[]> {
  return db
    .select(memberColumns)
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(
      and(
        eq(projectMembers.projectId, projectId),
        afterUserId === null ? undefined : gt(projectMembers.userId, afterUserId),
      ),
    )
    .orderBy(asc(projectMembers.userId))
    .limit(limit + 1);
}

export async function updateMemberRole(
  tx: Executor,
  projectId: string,
  userId: string,
  role: Role,
): Promise<void> {
  await tx
    .update(projectMembers)
    .set({ role, updatedAt: new Date() })
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)));
}

export async function deleteMember(tx: Executor, projectId: string, userId: string): Promise<void> {
  await tx
    .delete(projectMembers)
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)));
}

/** Counted inside the changing transaction, with the owners' rows locked, so two demotions can't race. */
export async function countOwnersForUpdate(tx: Executor, projectId: string): Promise<number> {
  const owners = await tx
    .select({ userId: projectMembers.userId })
    .from(projectMembers)
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.role, 'owner')))
    .for('update');
  return owners.length;
}

export async function findUserIdByEmail(db: Executor, email: string): Promise<string | null> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.email, email))
    .limit(1);
  return row?.id ?? null;
}
