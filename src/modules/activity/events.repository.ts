import { and, desc, eq, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type EventRow, events } from '../../db/schema/index.js';
import { newId } from '../../lib/ids.js';

export type EventType =
  | 'project.created'
  | 'project.updated'
  | 'project.deleted'
  | 'member.added'
  | 'member.updated'
  | 'member.removed'
  | 'task.created'
  | 'task.updated'
  | 'task.deleted'
  | 'comment.created'
  | 'comment.updated'
  | 'comment.deleted';

export interface NewEvent {
  type: EventType;
  projectId: string;
  actorId: string;
  entityId: string;
  data: Record<string, unknown>;
}

/** Call inside the transaction that makes the change, so the change and its event commit together. */
export async function insertEvent(tx: Executor, event: NewEvent): Promise<void> {
  await tx.insert(events).values({ id: newId(), ...event });
}

export async function listProjectEvents(
  db: Executor,
  projectId: string,
  limit: number,
  beforeSeq: number | null,
): Promise<EventRow[]> {
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
