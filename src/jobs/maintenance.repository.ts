import { type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from '../db/client.js';
import {
  actionTokens,
  events,
  exportFiles,
  idempotencyKeys,
  importUploads,
  realtimeTickets,
  refreshTokens,
  sessions,
  userJobs,
  webhookDeliveries,
} from '../db/schema/index.js';

// Each batch is its own short statement, so a large backlog never holds long locks.
const BATCH = 5_000;

/** Deletes the rows of `table` matching `where`, a batch at a time; returns how many went. */
async function deleteInBatches(db: Executor, table: PgTable, where: SQL): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db.execute(
      sql`delete from ${table} where ctid = any(array(select ctid from ${table} where ${where} limit ${BATCH}))`,
    );
    const count = affected(result);
    total += count;
    if (count < BATCH) return total;
  }
}

/** Rows affected, as postgres-js (`count`) and PGlite (`affectedRows`) report it. */
function affected(result: unknown): number {
  const { count, affectedRows } = result as { count?: number; affectedRows?: number };
  return Number(count ?? affectedRows ?? 0);
}

export interface PurgeCutoffs {
  now: Date;
  /** Sessions revoked before this are deleted. */
  revokedBefore: Date;
  /** Sessions last used before this can no longer be refreshed and are deleted. */
  idleBefore: Date;
  eventsBefore: Date;
  finishedJobsBefore: Date;
  /** Uploads of imports whose job never ran to its end are deleted. */
  uploadsBefore: Date;
  webhookDeliveriesBefore: Date;
}

export interface PurgeCounts {
  sessions: number;
  refresh_tokens: number;
  action_tokens: number;
  idempotency_keys: number;
  events: number;
  jobs: number;
  exports: number;
  import_uploads: number;
  webhook_deliveries: number;
  realtime_tickets: number;
}

/** A time as a query parameter; postgres-js takes no Date inside a raw `sql` fragment. */
const at = (time: Date): SQL => sql`${time.toISOString()}::timestamptz`;

export async function purgeExpired(db: Executor, cutoffs: PurgeCutoffs): Promise<PurgeCounts> {
  const now = at(cutoffs.now);
  const revokedBefore = at(cutoffs.revokedBefore);
  const idleBefore = at(cutoffs.idleBefore);
  const eventsBefore = at(cutoffs.eventsBefore);
  const finishedJobsBefore = at(cutoffs.finishedJobsBefore);
  const deadSession = sql`(${sessions.expiresAt} < ${now} or ${sessions.revokedAt} < ${revokedBefore} or ${sessions.lastUsedAt} < ${idleBefore})`;
  // A session's refresh tokens go with it (the foreign key cascades); counted first so the
  // figures say what was removed.
  const refreshTokenCount = await deleteInBatches(
    db,
    refreshTokens,
    sql`${refreshTokens.sessionId} in (select ${sessions.id} from ${sessions} where ${deadSession})`,
  );
  return {
    refresh_tokens: refreshTokenCount,
    sessions: await deleteInBatches(db, sessions, deadSession),
    action_tokens: await deleteInBatches(db, actionTokens, sql`${actionTokens.expiresAt} < ${now}`),
    idempotency_keys: await deleteInBatches(
      db,
      idempotencyKeys,
      sql`${idempotencyKeys.expiresAt} < ${now}`,
    ),
    events: await deleteInBatches(db, events, sql`${events.createdAt} < ${eventsBefore}`),
    jobs: await deleteInBatches(db, userJobs, sql`${userJobs.finishedAt} < ${finishedJobsBefore}`),
    // An export's chunks go with it (the foreign key cascades), a few rows per export.
    exports: await deleteInBatches(db, exportFiles, sql`${exportFiles.expiresAt} < ${now}`),
    import_uploads: await deleteInBatches(
      db,
      importUploads,
      sql`${importUploads.createdAt} < ${at(cutoffs.uploadsBefore)}`,
    ),
    webhook_deliveries: await deleteInBatches(
      db,
      webhookDeliveries,
      sql`${webhookDeliveries.createdAt} < ${at(cutoffs.webhookDeliveriesBefore)}`,
    ),
    realtime_tickets: await deleteInBatches(
      db,
      realtimeTickets,
      sql`${realtimeTickets.expiresAt} < ${now}`,
    ),
  };
}
