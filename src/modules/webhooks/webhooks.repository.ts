import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import {
  type EventRow,
  events,
  projectMembers,
  users,
  webhookCursor,
  webhookDeliveries,
  type WebhookDeliveryRow,
  type WebhookRow,
  webhooks,
} from '../../db/schema/index.js';
import type { EventPosition } from '../activity/events.repository.js';

export type WebhookInsert = typeof webhooks.$inferInsert;
export type DeliveryInsert = typeof webhookDeliveries.$inferInsert;

export async function insertWebhook(tx: Executor, values: WebhookInsert): Promise<WebhookRow> {
  const [row] = await tx.insert(webhooks).values(values).returning();
  if (row === undefined) throw new Error('webhook not inserted');
  return row;
}

export async function findWebhook(
  db: Executor,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<WebhookRow | null> {
  const query = db.select().from(webhooks).where(eq(webhooks.id, id)).limit(1);
  const [row] = options.forUpdate ? await query.for('update') : await query;
  return row ?? null;
}

export async function listWebhooks(
  db: Executor,
  projectId: string,
  afterId: string | null,
  limit: number,
): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhooks)
    .where(
      and(
        eq(webhooks.projectId, projectId),
        afterId === null ? undefined : gt(webhooks.id, afterId),
      ),
    )
    .orderBy(asc(webhooks.id))
    .limit(limit + 1);
}

/** Applies `changes`, bumping the version; returns the row after the change. */
export async function updateWebhook(
  tx: Executor,
  id: string,
  changes: Partial<WebhookInsert>,
): Promise<WebhookRow> {
  const [row] = await tx
    .update(webhooks)
    .set({ ...changes, version: sql`${webhooks.version} + 1`, updatedAt: sql`now()` })
    .where(eq(webhooks.id, id))
    .returning();
  if (row === undefined) throw new Error('webhook vanished inside its transaction');
  return row;
}

export async function deleteWebhook(tx: Executor, id: string): Promise<void> {
  await tx.delete(webhooks).where(eq(webhooks.id, id));
}

export type EnabledWebhook = Pick<WebhookRow, 'id' | 'projectId' | 'events' | 'createdAt'>;

/** The enabled subscriptions of these projects: the candidates for a batch of events. */
export async function enabledWebhooksOf(
  db: Executor,
  projectIds: string[],
): Promise<EnabledWebhook[]> {
  if (projectIds.length === 0) return [];
  return db
    .select({
      id: webhooks.id,
      projectId: webhooks.projectId,
      events: webhooks.events,
      createdAt: webhooks.createdAt,
    })
    .from(webhooks)
    .where(and(inArray(webhooks.projectId, projectIds), eq(webhooks.enabled, true)));
}

export async function insertDelivery(tx: Executor, values: DeliveryInsert): Promise<void> {
  await tx.insert(webhookDeliveries).values(values);
}

/** Appends several attempts to the log with one statement. */
export async function insertDeliveries(tx: Executor, values: DeliveryInsert[]): Promise<void> {
  if (values.length > 0) await tx.insert(webhookDeliveries).values(values);
}

/** The webhooks of these ids that still exist, by id (one query). */
export async function findWebhooks(db: Executor, ids: string[]): Promise<Map<string, WebhookRow>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db.select().from(webhooks).where(inArray(webhooks.id, unique));
  return new Map(rows.map((row) => [row.id, row]));
}

/** One page of a webhook's attempts, newest first (ids are time-ordered). */
export async function listDeliveries(
  db: Executor,
  webhookId: string,
  beforeId: string | null,
  limit: number,
): Promise<WebhookDeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhookId),
        beforeId === null ? undefined : lt(webhookDeliveries.id, beforeId),
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit + 1);
}

export async function findDelivery(
  db: Executor,
  webhookId: string,
  id: string,
): Promise<WebhookDeliveryRow | null> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.id, id)))
    .limit(1);
  return row ?? null;
}

export async function findEvent(db: Executor, id: string) {
  const [row] = await db.select().from(events).where(eq(events.id, id)).limit(1);
  return row ?? null;
}

/** The events of these ids still in the log, by id (one query). */
export async function findEvents(db: Executor, ids: string[]): Promise<Map<string, EventRow>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db.select().from(events).where(inArray(events.id, unique));
  return new Map(rows.map((row) => [row.id, row]));
}

/** The addresses of a project's admins and owners, who are told when its webhook is disabled. */
export async function adminEmails(db: Executor, projectId: string): Promise<string[]> {
  const rows = await db
    .select({ email: users.email })
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(
      and(
        eq(projectMembers.projectId, projectId),
        inArray(projectMembers.role, ['admin', 'owner']),
      ),
    );
  return rows.map((row) => row.email);
}

/**
 * The fan-out cursor, locked for this transaction; null while another instance holds it (that
 * one is dispatching, so this one need not).
 */
export async function lockCursor(tx: Executor): Promise<EventPosition | null> {
  const [row] = await tx
    .select({ txid: sql<string>`${webhookCursor.txid}::text`, seq: webhookCursor.seq })
    .from(webhookCursor)
    .where(eq(webhookCursor.id, 1))
    .for('update', { skipLocked: true });
  return row ?? null;
}

export async function moveCursor(tx: Executor, position: EventPosition): Promise<void> {
  await tx
    .update(webhookCursor)
    .set({
      txid: sql`${position.txid}::xid8`,
      seq: position.seq,
      updatedAt: sql`now()`,
    })
    .where(eq(webhookCursor.id, 1));
}
