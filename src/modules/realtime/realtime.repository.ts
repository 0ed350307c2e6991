import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import {
  events,
  personalAccessTokens,
  projectMembers,
  realtimeTickets,
  sessions,
  users,
} from '../../db/schema/index.js';
import { committedColumns, type EventPosition } from '../activity/events.repository.js';

export interface NewTicket {
  tokenHash: string;
  userId: string;
  sessionId: string | null;
  tokenId: string | null;
  credentialExpiresAt: Date | null;
  expiresAt: Date;
}

export async function insertTicket(db: Executor, ticket: NewTicket): Promise<void> {
  await db.insert(realtimeTickets).values(ticket);
}

/** Marks a ticket used and returns it, once: a used or expired ticket returns `null`. */
export async function redeemTicket(db: Executor, tokenHash: string, now: Date) {
  const [row] = await db
    .update(realtimeTickets)
    .set({ usedAt: now })
    .where(
      and(
        eq(realtimeTickets.tokenHash, tokenHash),
        isNull(realtimeTickets.usedAt),
        gt(realtimeTickets.expiresAt, now),
      ),
    )
    .returning();
  return row ?? null;
}

export type CredentialState = 'live' | 'ended' | 'deactivated';

/**
 * Whether each session and personal token still authenticates: `ended` when revoked, expired or
 * gone, `deactivated` when its user is. One query per kind, whatever the number of streams.
 */
export async function findCredentialStates(
  db: Executor,
  sessionIds: string[],
  tokenIds: string[],
  now: Date,
): Promise<Map<string, CredentialState>> {
  const states = new Map<string, CredentialState>();
  const at = sql`${now.toISOString()}::timestamptz`;
  if (sessionIds.length > 0) {
    const rows = await db
      .select({
        id: sessions.id,
        active: users.isActive,
        live: sql<boolean>`(${sessions.revokedAt} is null and ${sessions.expiresAt} > ${at})`,
      })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(inArray(sessions.id, sessionIds));
    for (const row of rows) states.set(row.id, stateOf(row));
  }
  if (tokenIds.length > 0) {
    const rows = await db
      .select({
        id: personalAccessTokens.id,
        active: users.isActive,
        live: sql<boolean>`(${personalAccessTokens.revokedAt} is null and (${personalAccessTokens.expiresAt} is null or ${personalAccessTokens.expiresAt} > ${at}))`,
      })
      .from(personalAccessTokens)
      .innerJoin(users, eq(users.id, personalAccessTokens.userId))
      .where(inArray(personalAccessTokens.id, tokenIds));
    for (const row of rows) states.set(row.id, stateOf(row));
  }
  return states;
}

function stateOf(row: { active: boolean; live: boolean }): CredentialState {
  if (!row.active) return 'deactivated';
  return row.live ? 'live' : 'ended';
}

export async function listMemberProjectIds(db: Executor, userId: string): Promise<string[]> {
  const rows = await db
    .select({ projectId: projectMembers.projectId })
    .from(projectMembers)
    .where(eq(projectMembers.userId, userId));
  return rows.map((row) => row.projectId);
}

const MEMBER_EVENTS = ['member.added', 'member.updated', 'member.removed'];

/**
 * The committed events in `(after, upTo]` that a stream of `userId` over `projects` may need:
 * those of the projects, and the membership changes about the user anywhere (projects it
 * created included). Every position up
 * to `upTo` has been read by the relay, so it is final.
 */
export async function readReplay(
  db: Executor,
  range: { after: EventPosition; upTo: EventPosition },
  userId: string,
  projects: string[],
  limit: number,
) {
  const { after, upTo } = range;
  return db
    .select(committedColumns)
    .from(events)
    .where(
      and(
        sql`(${events.txid}, ${events.seq}) > (${after.txid}::xid8, ${after.seq}::bigint)`,
        sql`(${events.txid}, ${events.seq}) <= (${upTo.txid}::xid8, ${upTo.seq}::bigint)`,
        or(
          projects.length > 0 ? inArray(events.projectId, projects) : undefined,
          and(inArray(events.type, MEMBER_EVENTS), sql`${events.data}->>'user_id' = ${userId}`),
          and(eq(events.type, 'project.created'), eq(events.actorId, userId)),
        ),
      ),
    )
    .orderBy(asc(events.txid), asc(events.seq))
    .limit(limit);
}

/** The position of the oldest event still kept, or `null` when the log is empty. */
export async function readOldestPosition(db: Executor): Promise<EventPosition | null> {
  const [row] = await db
    .select({ txid: committedColumns.txid, seq: events.seq })
    .from(events)
    .orderBy(asc(events.txid), asc(events.seq))
    .limit(1);
  return row ?? null;
}
