import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import type { WebhookDeliveryRow, WebhookRow } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { preconditionFailed } from '../../lib/etag.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { type Page, pageByKey } from '../../lib/pagination.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { findRole } from '../projects/projects.repository.js';
import { requireRole } from '../projects/roles.js';
import { webhookDeliveryQueue } from './delivery.queue.js';
import { newSecret } from './signature.js';
import {
  checkUrlShape,
  ForbiddenTarget,
  type GuardPolicy,
  type HostResolver,
  resolveTarget,
} from './ssrf-guard.js';
import {
  deleteWebhook,
  findDelivery,
  findEvent,
  findWebhook,
  insertWebhook,
  listDeliveries,
  listWebhooks,
  updateWebhook,
} from './webhooks.repository.js';
import type {
  DeliveryListQuery,
  DeliveryPublic,
  DeliveryQueued,
  WebhookCreate,
  WebhookListQuery,
  WebhookPublic,
  WebhookUpdate,
} from './webhooks.schemas.js';

/** The old secret is still signed with for this long after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export function toWebhookPublic(row: WebhookRow): WebhookPublic {
  return {
    id: row.id,
    project_id: row.projectId,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    failing_since: row.failingSince?.toISOString() ?? null,
    previous_secret_expires_at: row.previousSecretExpiresAt?.toISOString() ?? null,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    version: row.version,
  };
}

export function toDeliveryPublic(row: WebhookDeliveryRow): DeliveryPublic {
  return {
    id: row.id,
    webhook_id: row.webhookId,
    event_id: row.eventId,
    event_type: row.eventType,
    attempt: row.attempt,
    succeeded: row.succeeded,
    status_code: row.statusCode,
    duration_ms: row.durationMs ?? 0,
    error: row.error,
    next_retry_at: row.nextRetryAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

export interface WebhooksServiceOptions {
  db: Database;
  config: Config;
  jobs: JobQueue;
  clock: Clock;
  resolve: HostResolver;
}

/** Webhook subscriptions of a project, managed by its admins and owners. */
export class WebhooksService {
  readonly #db: Database;
  readonly #jobs: JobQueue;
  readonly #clock: Clock;
  readonly #resolve: HostResolver;
  readonly #policy: GuardPolicy;

  constructor({ db, config, jobs, clock, resolve }: WebhooksServiceOptions) {
    this.#db = db;
    this.#jobs = jobs;
    this.#clock = clock;
    this.#resolve = resolve;
    this.#policy = {
      allowPrivate: config.webhookAllowPrivate,
      allowedPorts: config.webhookAllowedPorts,
    };
  }

  async #requireAdmin(
    db: Executor,
    projectId: string,
    userId: string,
    notFound: 'project_not_found' | 'webhook_not_found',
  ): Promise<void> {
    requireRole(await findRole(db, projectId, userId), 'admin', notFound, 'manage webhooks');
  }

  /** The webhook, once the caller is shown to be an admin of its project. */
  async #webhook(
    db: Executor,
    userId: string,
    id: string,
    options: { forUpdate?: boolean } = {},
  ): Promise<WebhookRow> {
    const webhook = await findWebhook(db, id, options);
    if (webhook === null) throw new AppError('webhook_not_found');
    await this.#requireAdmin(db, webhook.projectId, userId, 'webhook_not_found');
    return webhook;
  }

  /**
   * Refuses a URL the SSRF guard forbids. A name that does not resolve yet is accepted (its
   * addresses are checked again at every delivery); one that resolves to a forbidden address is not.
   */
  async #checkUrl(url: string): Promise<void> {
    try {
      const checked = checkUrlShape(url, this.#policy);
      await resolveTarget(checked, this.#policy, this.#resolve).catch((error: unknown) => {
        if (error instanceof ForbiddenTarget && error.code === 'dns_failed') return;
        throw error;
      });
    } catch (error) {
      if (!(error instanceof ForbiddenTarget)) throw error;
      throw new AppError('webhook_url_forbidden', `The URL ${error.message}.`, {
        errors: [{ location: 'body', field: 'url', message: error.message, code: error.code }],
      });
    }
  }

  async list(
    userId: string,
    projectId: string,
    query: WebhookListQuery,
  ): Promise<Page<WebhookPublic>> {
    await this.#requireAdmin(this.#db, projectId, userId, 'project_not_found');
    return pageByKey(
      'webhooks',
      query,
      (after, limit) => listWebhooks(this.#db, projectId, after, limit),
      toWebhookPublic,
      (row) => row.id,
    );
  }

  async create(
    userId: string,
    projectId: string,
    input: WebhookCreate,
  ): Promise<{ webhook: WebhookRow; secret: string }> {
    await this.#requireAdmin(this.#db, projectId, userId, 'project_not_found');
    await this.#checkUrl(input.url);
    return this.#db.transaction(async (tx) => {
      await this.#requireAdmin(tx, projectId, userId, 'project_not_found');
      const secret = newSecret();
      const webhook = await insertWebhook(tx, {
        id: newId(),
        projectId,
        url: input.url,
        events: input.events,
        description: input.description ?? '',
        enabled: input.enabled ?? true,
        secret,
        createdBy: userId,
      });
      return { webhook, secret };
    });
  }

  async get(userId: string, id: string): Promise<WebhookRow> {
    return this.#webhook(this.#db, userId, id);
  }

  async update(
    userId: string,
    id: string,
    input: WebhookUpdate,
    expected: number | undefined,
  ): Promise<WebhookRow> {
    await this.#webhook(this.#db, userId, id);
    if (input.url !== undefined) await this.#checkUrl(input.url);
    return this.#db.transaction(async (tx) => {
      const webhook = await this.#webhook(tx, userId, id, { forUpdate: true });
      if (expected !== undefined && expected !== webhook.version) throw preconditionFailed();
      const turnedOn = input.enabled === true && !webhook.enabled;
      return updateWebhook(tx, id, {
        ...(input.url === undefined ? {} : { url: input.url }),
        ...(input.events === undefined ? {} : { events: input.events }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
        // Turned on again: a fresh start, with no memory of the failures that turned it off.
        ...(turnedOn ? { disabledReason: null, failingSince: null } : {}),
      });
    });
  }

  async delete(userId: string, id: string, expected: number | undefined): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const webhook = await this.#webhook(tx, userId, id, { forUpdate: true });
      if (expected !== undefined && expected !== webhook.version) throw preconditionFailed();
      await deleteWebhook(tx, id);
    });
  }

  /** A new secret; the old one is still signed with for 24 hours. */
  async rotateSecret(userId: string, id: string): Promise<{ webhook: WebhookRow; secret: string }> {
    return this.#db.transaction(async (tx) => {
      const webhook = await this.#webhook(tx, userId, id, { forUpdate: true });
      const secret = newSecret();
      const updated = await updateWebhook(tx, id, {
        secret,
        previousSecret: webhook.secret,
        previousSecretExpiresAt: new Date(this.#clock.now().getTime() + ROTATION_OVERLAP_MS),
      });
      return { webhook: updated, secret };
    });
  }

  async listDeliveries(
    userId: string,
    id: string,
    query: DeliveryListQuery,
  ): Promise<Page<DeliveryPublic>> {
    await this.#webhook(this.#db, userId, id);
    return pageByKey(
      'webhook-deliveries',
      query,
      (before, limit) => listDeliveries(this.#db, id, before, limit),
      toDeliveryPublic,
      (row) => row.id,
    );
  }

  /** Queues the event of a logged attempt again: one attempt, with the same `webhook-id`. */
  async redeliver(userId: string, id: string, deliveryId: string): Promise<DeliveryQueued> {
    return this.#db.transaction(async (tx) => {
      const webhook = await this.#webhook(tx, userId, id);
      const delivery = await findDelivery(tx, id, deliveryId);
      if (delivery === null) throw new AppError('delivery_not_found');
      assertEnabled(webhook);
      const ping = delivery.eventType === 'webhook.ping';
      if (!ping && (await findEvent(tx, delivery.eventId)) === null) {
        throw new AppError('event_expired', 'The event of this delivery is no longer kept.');
      }
      await this.#jobs.send(
        tx,
        webhookDeliveryQueue,
        {
          webhook_id: id,
          event_id: delivery.eventId,
          attempt: 1,
          manual: true,
          ...(ping ? { ping: this.#pingOf(webhook, userId) } : {}),
        },
        { group: id },
      );
      return { webhook_id: id, event_id: delivery.eventId };
    });
  }

  /** Sends a `webhook.ping` event now (one attempt). */
  async ping(userId: string, id: string): Promise<DeliveryQueued> {
    return this.#db.transaction(async (tx) => {
      const webhook = await this.#webhook(tx, userId, id);
      assertEnabled(webhook);
      const eventId = newId();
      await this.#jobs.send(
        tx,
        webhookDeliveryQueue,
        {
          webhook_id: id,
          event_id: eventId,
          attempt: 1,
          manual: true,
          ping: this.#pingOf(webhook, userId),
        },
        { group: id },
      );
      return { webhook_id: id, event_id: eventId };
    });
  }

  #pingOf(webhook: WebhookRow, userId: string) {
    return {
      project_id: webhook.projectId,
      actor_id: userId,
      created_at: this.#clock.now().toISOString(),
    };
  }
}

function assertEnabled(webhook: WebhookRow): void {
  if (!webhook.enabled) {
    throw new AppError('webhook_disabled', 'Enable the webhook before sending to it.');
  }
}
