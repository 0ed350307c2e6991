import { and, asc, desc, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { signalAfterCommit } from '../../db/commit-signal.js';
import { comments, type EventRow, events } from '../../db/schema/index.js';
import { newId } from '../../lib/ids.js';
import type { EventPublic, NewEvent } from './events.schemas.js';

/**
 * Writes one event. Call it inside the transaction that makes the change, so the change and its
 * event commit together; the event relay is woken once that transaction commits.
 */
export async function insertEvent(tx: Executor, event: NewEvent): Promise<void> {
  await tx.insert(events).values({ id: newId(), ...event });
  signalAfterCommit(tx);
}

/** Writes several events with one statement, in `tx` (see `insertEvent`). */
export async function insertEvents(tx: Executor, batch: NewEvent[]): Promise<void> {
  if (batch.length === 0) return;
  await tx.insert(events).values(batch.map((event) => ({ id: newId(), ...event })));
  signalAfterCommit(tx);
}

export function toEventPublic(row: EventRow): EventPublic {
  return {
    id: row.id,
    type: row.type,
    project_id: row.projectId,
    actor_id: row.actorId,
    entity_id: row.entityId,
    data: row.data,
    created_at: row.createdAt.toISOString(),
  } as EventPublic;
}

/** One page of a project's activity, newest first (`events_project_seq_idx`). */
export function buildProjectEventsQuery(
  db: Executor,
  projectId: string,
  limit: number,
  beforeSeq: number | null,
) {
  return db
    .select()
    .from(events)
    .where(
      and(
        eq(events.projectId, projectId),
        beforeSeq === null ? undefined : lt(events.seq, beforeSeq),
      ),
    )
    .orderBy(desc(events.seq))
    .limit(limit + 1);
}

export async function listProjectEvents(
  db: Executor,
  projectId: string,
  limit: number,
  beforeSeq: number | null,
): Promise<EventRow[]> {
  return buildProjectEventsQuery(db, projectId, limit, beforeSeq);
}

/**
 * A place in the committed log: the writing transaction's id, then `seq` within it. Every
 * transaction below the oldest one still running has finished, so once the relay has read up
 * to such a position, no later commit can land behind it.
 */
export interface EventPosition {
  txid: string;
  seq: number;
}

export const LOG_START: EventPosition = { txid: '0', seq: 0 };

/** An event row as readers of the committed log get it, its `txid` as text. */
export const committedColumns = {
  id: events.id,
  seq: events.seq,
  txid: sql<string>`${events.txid}::text`.as('txid'),
  type: events.type,
  projectId: events.projectId,
  actorId: events.actorId,
  entityId: events.entityId,
  data: events.data,
  createdAt: events.createdAt,
};

/**
 * Committed events after `after`, in position order (`events_txid_seq_idx`). `settled` is true
 * below the oldest running transaction: those positions are final. The rest are committed but
 * may still get an earlier neighbour (a transaction that began before them and commits later);
 * they come last in the order, and a reader stops before them and asks again soon.
 */
export function buildCommittedEventsQuery(db: Executor, after: EventPosition, limit: number) {
  return db
    .select({
      ...committedColumns,
      settled: sql<boolean>`${events.txid} < pg_snapshot_xmin(pg_current_snapshot())`.as('settled'),
    })
    .from(events)
    .where(sql`(${events.txid}, ${events.seq}) > (${after.txid}::xid8, ${after.seq}::bigint)`)
    .orderBy(asc(events.txid), asc(events.seq))
    .limit(limit);
}

export type CommittedEventRow = EventRow & { settled: boolean };

export async function readCommittedEvents(
  db: Executor,
  after: EventPosition,
  limit: number,
): Promise<CommittedEventRow[]> {
  return buildCommittedEventsQuery(db, after, limit);
}

/** The newest position nothing can still land behind: where a reader that skips history starts. */
export async function readHeadPosition(db: Executor): Promise<EventPosition> {
  const [row] = await db
    .select({ txid: committedColumns.txid, seq: events.seq })
    .from(events)
    .where(sql`${events.txid} < pg_snapshot_xmin(pg_current_snapshot())`)
    .orderBy(desc(events.txid), desc(events.seq))
    .limit(1);
  return row ?? LOG_START;
}

const COMMENT_TEXT_EVENTS = ['comment.created', 'comment.updated'];

/**
 * Forgets the text of the given comments in the events written so far: the log keeps that they
 * were written and edited, not the words that were edited or deleted away. Call it in the
 * transaction that edits or deletes them.
 */
export async function scrubCommentText(tx: Executor, commentIds: string[]): Promise<void> {
  if (commentIds.length === 0) return;
  await tx
    .update(events)
    .set({ data: sql`jsonb_set(${events.data}, '{body}', 'null'::jsonb)` })
    .where(
      and(
        inArray(events.entityId, commentIds),
        inArray(events.type, COMMENT_TEXT_EVENTS),
        isNotNull(sql`${events.data}->>'body'`),
      ),
    );
}

/** The comments of these tasks, whose text goes when the tasks are deleted. */
export async function commentIdsOfTasks(tx: Executor, taskIds: string[]): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const rows = await tx
    .select({ id: comments.id })
    .from(comments)
    .where(inArray(comments.taskId, taskIds));
  return rows.map((row) => row.id);
}

/** Forgets the text of every comment of a project that is being deleted. */
export async function scrubProjectCommentText(tx: Executor, projectId: string): Promise<void> {
  await tx
    .update(events)
    .set({ data: sql`jsonb_set(${events.data}, '{body}', 'null'::jsonb)` })
    .where(
      and(
        eq(events.projectId, projectId),
        inArray(events.type, COMMENT_TEXT_EVENTS),
        isNotNull(sql`${events.data}->>'body'`),
      ),
    );
}
