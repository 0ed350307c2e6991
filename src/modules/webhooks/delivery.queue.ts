import Type from 'typebox';
import { defineQueue } from '../../jobs/queues.js';

export const DeliveryJobSchema = Type.Object({
  webhook_id: Type.String({ format: 'uuid' }),
  /** The event, and the `webhook-id` of every attempt. */
  event_id: Type.String({ format: 'uuid' }),
  attempt: Type.Integer({ minimum: 1 }),
  /** A redelivery or ping someone asked for: one attempt, no automatic retries. */
  manual: Type.Optional(Type.Boolean()),
  /** A ping carries its event, which is not in the log. */
  ping: Type.Optional(
    Type.Object({
      project_id: Type.String({ format: 'uuid' }),
      actor_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
      created_at: Type.String(),
    }),
  ),
});

/**
 * One attempt of one delivery. A failed attempt is not a failed job: the handler logs it and
 * queues the next attempt itself, on the webhook schedule. The job's own retries only cover a
 * worker that died mid-attempt (the receiver may then see the attempt twice, same `webhook-id`).
 * Jobs are grouped by webhook: at most 4 attempts per endpoint run at once in each process.
 * Each process has 16 pollers fetching one job at a time, each fetching again when its job is
 * done, so a slow receiver (up to `WEBHOOK_TIMEOUT_MS` per attempt) holds back at most 4 pollers
 * while the others keep delivering. (Batches of 5 were measured faster, but a poller then waits
 * for its slowest job, and the slow-receiver test showed the fast endpoint held up.)
 */
export const webhookDeliveryQueue = defineQueue(
  'webhook-delivery',
  DeliveryJobSchema,
  (config) => ({
    retryLimit: 3,
    retryDelaySeconds: 5,
    expireInSeconds: Math.ceil(config.webhookTimeoutMs / 1000) + 60,
    keepFinishedSeconds: 3600,
    batchSize: 1,
    concurrency: 16,
    groupConcurrency: 4,
    eager: true,
  }),
);
