import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { sessions, users } from '../../db/schema/index.js';

export interface SessionPrincipal {
  userId: string;
  isActive: boolean;
  isSuperuser: boolean;
  revokedAt: Date | null;
  expiresAt: Date;
}

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
