import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import type { EventRow, WebhookRow } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/ids.js';
import { escapeHtml } from '../../lib/mailer.js';
import type { JobContext, JobQueue } from '../../jobs/job-queue.js';
import { enqueueMail } from '../../jobs/mail.js';
import type { Payload } from '../../jobs/queues.js';
import { Coalescer } from './coalescer.js';
import { webhookDeliveryQueue } from './delivery.queue.js';
import { signatureHeader } from './signature.js';
import type { OutboundResult, WebhookSender } from './webhook-sender.js';
import {
  adminEmails,
  type DeliveryInsert,
  findEvents,
  findWebhook,
  findWebhooks,
  insertDeliveries,
  insertDelivery,
  updateWebhook,
} from './webhooks.repository.js';

const DAY_MS = 86_400_000;
/** An endpoint failing for this long without one success is disabled. */
export const DISABLE_AFTER_MS = 5 * DAY_MS;
/** A `Retry-After` longer than this is not waited for. */
const RETRY_AFTER_MAX_SECONDS = DAY_MS / 1000;
const JITTER = 0.1;

type DeliveryJob = Payload<typeof webhookDeliveryQueue>;

export interface DeliveryBody {
  id: string;
  type: string;
  timestamp: string;
  project_id: string | null;
  actor_id: string | null;
  data: unknown;
}

export interface DeliveryServiceOptions {
  db: Database;
  jobs: JobQueue;
  config: Config;
  clock: Clock;
  sender: WebhookSender;
}

/** Seconds before the next attempt: the schedule's step ±10 %, or longer if the receiver asks. */
export function retryDelaySeconds(
  schedule: readonly number[],
  attempt: number,
  retryAfter: number | null,
  random = Math.random,
): number | null {
  const step = schedule[attempt - 1];
  if (step === undefined) return null;
  const jittered = step * (1 - JITTER + 2 * JITTER * random());
  return Math.max(jittered, Math.min(retryAfter ?? 0, RETRY_AFTER_MAX_SECONDS));
}

/** Runs delivery jobs: builds, signs and sends one attempt, logs it and plans what follows. */
export class DeliveryService {
  readonly #db: Database;
  readonly #jobs: JobQueue;
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #sender: WebhookSender;
  // The jobs running at one moment (a fetched batch starts side by side) read their webhooks
  // and events with one query each, and the successes answered together share one insert.
  // Nothing is kept between batches: each attempt reads its webhook's current row and secret.
  readonly #webhooks: Coalescer<string, WebhookRow | null>;
  readonly #events: Coalescer<string, EventRow | null>;
  readonly #log: Coalescer<DeliveryInsert, Error | null>;

  constructor({ db, jobs, config, clock, sender }: DeliveryServiceOptions) {
    this.#db = db;
    this.#jobs = jobs;
    this.#config = config;
    this.#clock = clock;
    this.#sender = sender;
    this.#webhooks = new Coalescer(async (ids) => {
      const found = await findWebhooks(db, ids);
      return ids.map((id) => found.get(id) ?? null);
    });
    this.#events = new Coalescer(async (ids) => {
      const found = await findEvents(db, ids);
      return ids.map((id) => found.get(id) ?? null);
    });
    this.#log = new Coalescer(async (rows) => {
      try {
        await insertDeliveries(db, rows);
        return rows.map(() => null);
      } catch {
        // One row the log refuses (its webhook deleted meanwhile) must not fail the others.
        const outcomes = await Promise.allSettled(rows.map((row) => insertDelivery(db, row)));
        return outcomes.map((outcome) =>
          outcome.status === 'fulfilled' ? null : toError(outcome.reason),
        );
      }
    });
  }

  /** The pg-boss handler of `webhookDeliveryQueue`. */
  async run(job: DeliveryJob, context: Pick<JobContext, 'signal'>): Promise<{ skipped?: string }> {
    const webhook = await this.#webhooks.call(job.webhook_id);
    if (webhook === null) return { skipped: 'webhook deleted' };
    if (!webhook.enabled) return { skipped: 'webhook disabled' };
    const body = await this.#body(job);
    if (body === null) {
      await this.#record(job, 'unknown', {
        statusCode: null,
        durationMs: 0,
        error: 'the event is no longer kept',
        retryAfterSeconds: null,
      });
      return { skipped: 'event gone' };
    }
    const now = this.#clock.now();
    const json = JSON.stringify(body);
    const timestamp = Math.floor(now.getTime() / 1000);
    const result = await this.#sender.send({
      url: webhook.url,
      body: json,
      headers: {
        'webhook-id': body.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(liveSecrets(webhook, now), body.id, timestamp, json),
      },
      signal: context.signal,
    });
    if (result.error === null && webhook.failingSince === null) {
      // The common case touches nothing but the log: no lock, no transaction, and the job
      // completes only once its row is written.
      const error = await this.#log.call(this.#attemptRow(job, body.type, result, null));
      if (error !== null) throw error;
    } else {
      await this.#record(job, body.type, result);
    }
    return {};
  }

  #attemptRow(
    job: DeliveryJob,
    eventType: string,
    result: OutboundResult,
    nextRetryAt: Date | null,
  ) {
    return {
      id: newId(),
      webhookId: job.webhook_id,
      eventId: job.event_id,
      eventType,
      attempt: job.attempt,
      statusCode: result.statusCode,
      durationMs: result.durationMs,
      error: result.error,
      succeeded: result.error === null,
      nextRetryAt,
    };
  }

  async #body(job: DeliveryJob): Promise<DeliveryBody | null> {
    if (job.ping) {
      return {
        id: job.event_id,
        type: 'webhook.ping',
        timestamp: job.ping.created_at,
        project_id: job.ping.project_id,
        actor_id: job.ping.actor_id,
        data: { webhook_id: job.webhook_id },
      };
    }
    const event = await this.#events.call(job.event_id);
    if (event === null) return null;
    return {
      id: event.id,
      type: event.type,
      timestamp: event.createdAt.toISOString(),
      project_id: event.projectId,
      actor_id: event.actorId,
      data: event.data,
    };
  }

  /** Logs the attempt and, in the same transaction, plans the next one or disables the endpoint. */
  async #record(job: DeliveryJob, eventType: string, result: OutboundResult): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const webhook = await findWebhook(tx, job.webhook_id, { forUpdate: true });
      if (webhook === null) return;
      const now = this.#clock.now();
      const succeeded = result.error === null;
      let nextRetryAt: Date | null = null;
      if (succeeded) {
        if (webhook.failingSince !== null)
          await updateWebhook(tx, webhook.id, { failingSince: null });
      } else {
        const failingSince = webhook.failingSince ?? now;
        if (result.statusCode === 410) {
          await this.#disable(tx, webhook, 'gone');
        } else if (now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS) {
          await this.#disable(tx, webhook, 'failing');
        } else {
          if (webhook.failingSince === null) await updateWebhook(tx, webhook.id, { failingSince });
          const delay =
            job.manual === true
              ? null
              : retryDelaySeconds(
                  this.#config.webhookRetryDelaysSeconds,
                  job.attempt,
                  result.retryAfterSeconds,
                );
          if (delay !== null) {
            nextRetryAt = new Date(now.getTime() + delay * 1000);
            await this.#jobs.send(
              tx,
              webhookDeliveryQueue,
              { ...job, attempt: job.attempt + 1 },
              { startAfter: nextRetryAt, group: webhook.id },
            );
          }
        }
      }
      await insertDelivery(tx, this.#attemptRow(job, eventType, result, nextRetryAt));
    });
  }

  async #disable(tx: Executor, webhook: WebhookRow, reason: 'gone' | 'failing'): Promise<void> {
    await updateWebhook(tx, webhook.id, {
      enabled: false,
      disabledReason: reason,
      failingSince: null,
    });
    const why =
      reason === 'gone'
        ? 'its receiver answered 410 Gone'
        : 'every delivery to it has failed for 5 days';
    const text =
      `The webhook ${webhook.url} (id ${webhook.id}) of one of your projects was disabled ` +
      `because ${why}. Nothing more is sent to it. Fix the receiver, then enable the webhook ` +
      `again (PATCH /api/v1/webhooks/${webhook.id} with {"enabled": true}) and redeliver what it missed.`;
    for (const to of await adminEmails(tx, webhook.projectId)) {
      await enqueueMail(this.#jobs, tx, {
        to,
        subject: 'A Docket webhook was disabled',
        text,
        html: `<p>${escapeHtml(text)}</p>`,
      });
    }
  }
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** The current secret, and the one before the last rotation while it is still honoured. */
function liveSecrets(webhook: WebhookRow, now: Date): string[] {
  const previous =
    webhook.previousSecret !== null &&
    webhook.previousSecretExpiresAt !== null &&
    webhook.previousSecretExpiresAt > now
      ? [webhook.previousSecret]
      : [];
  return [webhook.secret, ...previous];
}
