import {
  and,
  asc,
  desc,
  eq,
  gt,
  ilike,
  inArray,
  isNull,
  ne,
  notExists,
  or,
  sql,
} from 'drizzle-orm';
import { type Executor, resultRows } from '../../db/client.js';
import {
  type PersonalAccessTokenRow,
  personalAccessTokens,
  projectMembers,
  projects,
  type SessionRow,
  sessions,
  type UserRow,
  users,
} from '../../db/schema/index.js';

export type UserChanges = Partial<
  Pick<
    UserRow,
    'email' | 'fullName' | 'isActive' | 'isSuperuser' | 'emailVerifiedAt' | 'passwordHash'
  >
>;

/** `null` when the new email is taken by someone else. */
export async function updateUser(
  db: Executor,
  userId: string,
  changes: UserChanges,
): Promise<UserRow | null> {
  try {
    const [row] = await db
      .update(users)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(users.id, userId))
      .returning();
    return row ?? null;
  } catch (error) {
    if (
      (error as { code?: string }).code === '23505' ||
      (error as { cause?: { code?: string } }).cause?.code === '23505'
    ) {
      return null;
    }
    throw error;
  }
}

export async function deleteUser(db: Executor, userId: string): Promise<boolean> {
  const rows = await db.delete(users).where(eq(users.id, userId)).returning({ id: users.id });
  return rows.length > 0;
}

/**
 * Deletes the projects whose only member is the user, returning what went; their tasks,
 * comments and memberships follow by ON DELETE CASCADE. Left behind, nobody could reach them.
 */
export async function deleteSoloProjects(
  db: Executor,
  userId: string,
): Promise<{ id: string; name: string }[]> {
  const mine = db
    .select({ id: projectMembers.projectId })
    .from(projectMembers)
    .where(eq(projectMembers.userId, userId));
  const others = db
    .select({ one: sql`1` })
    .from(projectMembers)
    .where(and(eq(projectMembers.projectId, projects.id), ne(projectMembers.userId, userId)));
  return db
    .delete(projects)
    .where(and(inArray(projects.id, mine), notExists(others)))
    .returning({ id: projects.id, name: projects.name });
}

/** Projects where the user is the only owner while others are members: deleting would orphan them. */
export async function countSoleOwnedSharedProjects(db: Executor, userId: string): Promise<number> {
  const rows = await db.execute<{ n: number | string }>(sql`
    select count(*) as n from ${projectMembers} mine
    where mine.user_id = ${userId} and mine.role = 'owner'
      and not exists (select 1 from ${projectMembers} o where o.project_id = mine.project_id and o.role = 'owner' and o.user_id <> ${userId})
      and exists (select 1 from ${projectMembers} m where m.project_id = mine.project_id and m.user_id <> ${userId})`);
  return Number(resultRows<{ n: number | string }>(rows)[0]?.n ?? 0);
}

export async function listLiveSessions(db: Executor, userId: string): Promise<SessionRow[]> {
  return db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql`now()`),
      ),
    )
    .orderBy(desc(sessions.lastUsedAt))
    .limit(200);
}

export async function revokeOwnSession(
  db: Executor,
  userId: string,
  sessionId: string,
): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: 'logout' })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

export async function insertPersonalToken(
  db: Executor,
  token: Pick<
    PersonalAccessTokenRow,
    'id' | 'userId' | 'name' | 'tokenHash' | 'scopes' | 'expiresAt'
  >,
): Promise<PersonalAccessTokenRow> {
  const [row] = await db.insert(personalAccessTokens).values(token).returning();
  if (row === undefined) throw new Error('token insert returned nothing');
  return row;
}

export async function listPersonalTokens(
  db: Executor,
  userId: string,
): Promise<PersonalAccessTokenRow[]> {
  return db
    .select()
    .from(personalAccessTokens)
    .where(and(eq(personalAccessTokens.userId, userId), isNull(personalAccessTokens.revokedAt)))
    .orderBy(desc(personalAccessTokens.createdAt))
    .limit(200);
}

export async function revokePersonalToken(
  db: Executor,
  userId: string,
  tokenId: string,
): Promise<boolean> {
  const rows = await db
    .update(personalAccessTokens)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(personalAccessTokens.id, tokenId),
        eq(personalAccessTokens.userId, userId),
        isNull(personalAccessTokens.revokedAt),
      ),
    )
    .returning({ id: personalAccessTokens.id });
  return rows.length > 0;
}

export async function listUsers(
  db: Executor,
  options: { q: string | undefined; afterId: string | null; limit: number },
): Promise<UserRow[]> {
  const pattern =
    options.q === undefined ? undefined : `%${options.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .select()
    .from(users)
    .where(
      and(
        pattern === undefined
          ? undefined
          : or(ilike(users.email, pattern), ilike(users.fullName, pattern)),
        options.afterId === null ? undefined : gt(users.id, options.afterId),
      ),
    )
    .orderBy(asc(users.id))
    .limit(options.limit + 1);
}
