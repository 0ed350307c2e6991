import Type from 'typebox';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Clock } from '../lib/clock.js';
import type { JobHandler } from './job-queue.js';
import { purgeExpired } from './maintenance.repository.js';
import { defineQueue } from './queues.js';

const DAY_MS = 86_400_000;
/** Revoked sessions stay listed this long, so users see what was ended and why. */
const REVOKED_SESSION_DAYS = 7;
/** Finished user-visible jobs (and the exports they point to) are kept this long. */
export const FINISHED_JOB_DAYS = 7;
/** The webhook delivery log keeps this many days. */
export const WEBHOOK_DELIVERY_DAYS = 30;

/**
 * Hourly housekeeping, once per hour across all instances: expired sessions and their refresh
 * tokens, expired action tokens and idempotency keys, events older than
 * `EVENTS_RETENTION_DAYS`, finished user jobs after 7 days, expired exports, forgotten
 * import uploads, expired stream tickets and webhook delivery attempts after 30 days. pg-boss
 * deletes its own finished
 * jobs by each queue's `keepFinishedSeconds`.
 */
export const maintenanceQueue = defineQueue('maintenance', Type.Object({}), {
  cron: '0 * * * *',
  retryLimit: 3,
  retryDelaySeconds: 60,
  expireInSeconds: 1800,
  keepFinishedSeconds: 7 * 86_400,
});

export function maintenanceHandler({
  db,
  config,
  clock,
}: {
  db: Database;
  config: Config;
  clock: Clock;
}): JobHandler<typeof maintenanceQueue> {
  return async () => {
    const at = clock.now();
    const ago = (ms: number): Date => new Date(at.getTime() - ms);
    return purgeExpired(db, {
      now: at,
      revokedBefore: ago(REVOKED_SESSION_DAYS * DAY_MS),
      // An access token outlives its session's last refresh by at most its own lifetime.
      idleBefore: ago((config.refreshIdleTimeoutSeconds + config.accessTokenTtlSeconds) * 1000),
      eventsBefore: ago(config.eventsRetentionDays * DAY_MS),
      finishedJobsBefore: ago(FINISHED_JOB_DAYS * DAY_MS),
      uploadsBefore: ago(FINISHED_JOB_DAYS * DAY_MS),
      webhookDeliveriesBefore: ago(WEBHOOK_DELIVERY_DAYS * DAY_MS),
    });
  };
}
