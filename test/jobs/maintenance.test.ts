import { randomBytes } from 'node:crypto';
import { inArray, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import {
  actionTokens,
  events,
  idempotencyKeys,
  realtimeTickets,
  refreshTokens,
  sessions,
  projects,
  userJobs,
  webhookDeliveries,
  webhooks,
} from '../../src/db/schema/index.js';
import { maintenanceQueue } from '../../src/jobs/maintenance.js';
import { newId } from '../../src/lib/ids.js';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';

const t = useTestApp({ config: { eventsRetentionDays: 30 } });
const DAY = 86_400_000;
const ago = (days: number): Date => new Date(Date.now() - days * DAY);
const ahead = (days: number): Date => new Date(Date.now() + days * DAY);

/** Which of `ids` are still in the table of the id column `column`. */
async function remaining(column: PgColumn, ids: string[]): Promise<string[]> {
  const rows = await t.app.db.select({ id: column }).from(column.table).where(inArray(column, ids));
  return rows.map((row) => String(row.id)).sort();
}

describe('maintenance job', () => {
  it('when it runs, then exactly the expired and out-of-retention rows are deleted', async () => {
    const { user } = await createUser(t.app);
    const db = t.app.db;

    const session = (overrides: Partial<typeof sessions.$inferInsert>) => ({
      id: newId(),
      userId: user.id,
      expiresAt: ahead(10),
      ...overrides,
    });
    const liveSession = session({});
    const revokedYesterday = session({ revokedAt: ago(1), revokedReason: 'revoked' });
    const expiredSession = session({ createdAt: ago(40), expiresAt: ago(1) });
    const revokedLongAgo = session({ revokedAt: ago(8), revokedReason: 'revoked' });
    const idleSession = session({ lastUsedAt: ago(8) });
    await db
      .insert(sessions)
      .values([liveSession, revokedYesterday, expiredSession, revokedLongAgo, idleSession]);
    const liveRefresh = { id: newId(), sessionId: liveSession.id, tokenHash: hash() };
    const deadRefresh = { id: newId(), sessionId: expiredSession.id, tokenHash: hash() };
    await db.insert(refreshTokens).values([liveRefresh, deadRefresh]);

    const actionToken = (expiresAt: Date) => ({
      id: newId(),
      userId: user.id,
      purpose: 'password_reset' as const,
      tokenHash: hash(),
      email: user.email,
      expiresAt,
    });
    const freshAction = actionToken(ahead(1));
    const expiredAction = actionToken(ago(1));
    await db.insert(actionTokens).values([freshAction, expiredAction]);

    await db.insert(idempotencyKeys).values([
      { userId: user.id, key: 'fresh', requestHash: 'h', expiresAt: ahead(1) },
      { userId: user.id, key: 'stale', requestHash: 'h', expiresAt: ago(1) },
    ]);

    const event = (createdAt: Date) => ({
      id: newId(),
      type: 'task.created',
      entityId: newId(),
      createdAt,
    });
    const recentEvent = event(ago(29));
    const oldEvent = event(ago(31));
    await db.insert(events).values([recentEvent, oldEvent]);

    const job = (status: 'running' | 'succeeded', finishedAt: Date | null) => ({
      id: newId(),
      userId: user.id,
      kind: 'export',
      status,
      createdAt: ago(20),
      finishedAt,
    });
    const runningJob = job('running', null);
    const recentJob = job('succeeded', ago(6));
    const oldJob = job('succeeded', ago(8));
    await db.insert(userJobs).values([runningJob, recentJob, oldJob]);

    const projectId = newId();
    await db.insert(projects).values({ id: projectId, name: 'P' });
    const webhookId = newId();
    await db.insert(webhooks).values({
      id: webhookId,
      projectId,
      url: 'https://hooks.example.com/',
      events: ['*'],
      secret: 'whsec_x',
    });
    const attempt = (createdAt: Date) => ({
      id: newId(),
      webhookId,
      eventId: newId(),
      eventType: 'task.created',
      attempt: 1,
      succeeded: true,
      createdAt,
    });
    const recentAttempt = attempt(ago(29));
    const oldAttempt = attempt(ago(31));
    await db.insert(webhookDeliveries).values([recentAttempt, oldAttempt]);
    const ticket = (expiresAt: Date) => ({ tokenHash: hash(), userId: user.id, expiresAt });
    const freshTicket = ticket(ahead(1));
    await db.insert(realtimeTickets).values([freshTicket, ticket(ago(1))]);

    const counts = await t.app.services.jobs.run(maintenanceQueue, {});

    expect(counts).toEqual({
      sessions: 3,
      refresh_tokens: 1,
      action_tokens: 1,
      idempotency_keys: 1,
      events: 1,
      jobs: 1,
      exports: 0,
      import_uploads: 0,
      webhook_deliveries: 1,
      realtime_tickets: 1,
    });
    const tickets = await db.select({ hash: realtimeTickets.tokenHash }).from(realtimeTickets);
    expect(tickets.map((row) => row.hash)).toEqual([freshTicket.tokenHash]);
    const sessionIds = [liveSession, revokedYesterday, expiredSession, revokedLongAgo, idleSession];
    expect(
      await remaining(
        sessions.id,
        sessionIds.map((row) => row.id),
      ),
    ).toEqual([liveSession.id, revokedYesterday.id].sort());
    expect(await remaining(refreshTokens.id, [liveRefresh.id, deadRefresh.id])).toEqual([
      liveRefresh.id,
    ]);
    expect(await remaining(actionTokens.id, [freshAction.id, expiredAction.id])).toEqual([
      freshAction.id,
    ]);
    const keys = await db.select({ key: idempotencyKeys.key }).from(idempotencyKeys);
    expect(keys.map((row) => row.key)).toEqual(['fresh']);
    expect(await remaining(events.id, [recentEvent.id, oldEvent.id])).toEqual([recentEvent.id]);
    expect(await remaining(userJobs.id, [runningJob.id, recentJob.id, oldJob.id])).toEqual(
      [runningJob.id, recentJob.id].sort(),
    );
    expect(await remaining(webhookDeliveries.id, [recentAttempt.id, oldAttempt.id])).toEqual([
      recentAttempt.id,
    ]);
  });

  it('when the queue starts, then maintenance is scheduled hourly', async () => {
    const result = await t.app.db.execute(
      sql`select cron, timezone from pgboss.schedule where name = 'maintenance'`,
    );
    const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
    expect(rows).toEqual([{ cron: '0 * * * *', timezone: 'UTC' }]);
  });
});

function hash(): string {
  return randomBytes(16).toString('hex');
}
