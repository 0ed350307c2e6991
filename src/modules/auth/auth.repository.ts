import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import {
  type ActionTokenRow,
  actionTokens,
  personalAccessTokens,
  type RefreshTokenRow,
  refreshTokens,
  sessions,
  type UserRow,
  users,
} from '../../db/schema/index.js';

/** The one query every authenticated request makes: is this session, and its user, still live? */
export function prepareFindSessionPrincipal(db: Database) {
  return db
    .select({
      userId: sessions.userId,
      isActive: users.isActive,
      isSuperuser: users.isSuperuser,
      revokedAt: sessions.revokedAt,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sql.placeholder('sessionId')))
    .limit(1)
    .prepare('auth_find_session_principal');
}

export async function findUserByEmail(db: Executor, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return row ?? null;
}

export async function findUserById(db: Executor, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row ?? null;
}

export async function insertUser(
  db: Executor,
  user: Pick<UserRow, 'id' | 'email' | 'passwordHash' | 'fullName'> &
    Partial<Pick<UserRow, 'isSuperuser'>>,
): Promise<UserRow | null> {
  const [row] = await db.insert(users).values(user).onConflictDoNothing().returning();
  return row ?? null;
}

/** Counts a failed login; from the fifth in a row the account locks for 1 s, 2 s, 4 s … up to 15 min. */
export async function recordLoginFailure(db: Executor, userId: string): Promise<void> {
  await db
    .update(users)
    .set({
      failedLogins: sql`${users.failedLogins} + 1`,
      lockedUntil: sql`case when ${users.failedLogins} + 1 >= 5
        then now() + least(power(2, ${users.failedLogins} + 1 - 5), 900) * interval '1 second'
        else ${users.lockedUntil} end`,
    })
    .where(eq(users.id, userId));
}

export async function clearLoginFailures(
  db: Executor,
  userId: string,
  passwordHash?: string,
): Promise<void> {
  await db
    .update(users)
    .set({ failedLogins: 0, lockedUntil: null, ...(passwordHash ? { passwordHash } : {}) })
    .where(eq(users.id, userId));
}

export async function insertSession(
  db: Executor,
  session: typeof sessions.$inferInsert,
): Promise<void> {
  await db.insert(sessions).values(session);
}

export async function insertRefreshToken(
  db: Executor,
  token: Pick<RefreshTokenRow, 'id' | 'sessionId' | 'tokenHash'>,
): Promise<void> {
  await db.insert(refreshTokens).values(token);
}

/** The refresh token with its session and user, row-locked so two refreshes of one token serialise. */
export async function findRefreshTokenForUpdate(db: Executor, tokenHash: string) {
  const [row] = await db
    .select({ token: refreshTokens, session: sessions, user: users })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1)
    .for('update', { of: refreshTokens });
  return row ?? null;
}

export async function markRefreshTokenUsed(db: Executor, id: string): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ usedAt: sql`now()` })
    .where(eq(refreshTokens.id, id));
}

export async function touchSession(db: Executor, sessionId: string): Promise<void> {
  await db
    .update(sessions)
    .set({ lastUsedAt: sql`now()` })
    .where(eq(sessions.id, sessionId));
}

export async function revokeSession(
  db: Executor,
  sessionId: string,
  reason: string,
): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

/** Ends every live session of a user, but the one given (the caller's own, on a password change). */
export async function revokeUserSessions(
  db: Executor,
  userId: string,
  reason: string,
  keepSessionId: string | null = null,
): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        keepSessionId === null ? undefined : ne(sessions.id, keepSessionId),
      ),
    );
}

export async function findPersonalToken(db: Executor, tokenHash: string) {
  const [row] = await db
    .select({
      token: personalAccessTokens,
      isActive: users.isActive,
      isSuperuser: users.isSuperuser,
    })
    .from(personalAccessTokens)
    .innerJoin(users, eq(users.id, personalAccessTokens.userId))
    .where(eq(personalAccessTokens.tokenHash, tokenHash))
    .limit(1);
  return row ?? null;
}

export async function touchPersonalToken(db: Executor, id: string): Promise<void> {
  await db
    .update(personalAccessTokens)
    .set({ lastUsedAt: sql`now()` })
    .where(eq(personalAccessTokens.id, id));
}

export async function revokePersonalTokenByHash(db: Executor, tokenHash: string): Promise<void> {
  await db
    .update(personalAccessTokens)
    .set({ revokedAt: sql`now()` })
    .where(
      and(eq(personalAccessTokens.tokenHash, tokenHash), isNull(personalAccessTokens.revokedAt)),
    );
}

export async function insertActionToken(
  db: Executor,
  token: Pick<ActionTokenRow, 'id' | 'userId' | 'purpose' | 'tokenHash' | 'email' | 'expiresAt'>,
): Promise<void> {
  await db.insert(actionTokens).values(token);
}

/** Claims a single-use token: marks it used and returns it, or `null` if unknown, used or expired. */
export async function consumeActionToken(
  db: Executor,
  tokenHash: string,
  purpose: ActionTokenRow['purpose'],
): Promise<ActionTokenRow | null> {
  const [row] = await db
    .update(actionTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(actionTokens.tokenHash, tokenHash),
        eq(actionTokens.purpose, purpose),
        isNull(actionTokens.usedAt),
        gt(actionTokens.expiresAt, sql`now()`),
      ),
    )
    .returning();
  return row ?? null;
}
