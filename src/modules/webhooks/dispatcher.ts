import type { Database } from '../../db/client.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { EventSource, EventSubscription } from '../activity/event-relay.js';
import { readCommittedEvents } from '../activity/events.repository.js';
import { webhookDeliveryQueue } from './delivery.queue.js';
import { matchesFilters } from './event-filter.js';
import {
  type EnabledWebhook,
  enabledWebhooksOf,
  lockCursor,
  moveCursor,
} from './webhooks.repository.js';

interface Logger {
  warn(object: object, message: string): void;
}

export interface DispatcherOptions {
  db: Database;
  jobs: JobQueue;
  /** Wakes the dispatcher when events commit; the poll covers whatever it misses. */
  events: EventSource;
  /** Default 1 000 ms. */
  pollIntervalMs?: number;
  /** Events per transaction. Default 500. */
  batchSize?: number;
  log?: Logger;
}

/**
 * Webhook fan-out: reads the committed event log after a stored cursor and, in one
 * transaction, queues one delivery job per (matching enabled webhook, event) and moves the
 * cursor. A crash before the commit leaves both as they were, so every delivery is queued
 * exactly once; the cursor row is locked with SKIP LOCKED, so with several instances one
 * dispatches while the others skip. Runs where the jobs run (`WORKERS`).
 */
export class WebhookDispatcher {
  readonly #db: Database;
  readonly #jobs: JobQueue;
  readonly #events: EventSource;
  readonly #pollIntervalMs: number;
  readonly #batchSize: number;
  readonly #log: Logger | undefined;
  #subscription: EventSubscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #again = false;
  #failing = false;
  #stopped = true;
  #retryMs = 0;

  constructor(options: DispatcherOptions) {
    this.#db = options.db;
    this.#jobs = options.jobs;
    this.#events = options.events;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#batchSize = options.batchSize ?? 500;
    this.#log = options.log;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#subscription = this.#events.subscribe('all', () => this.wake());
    this.#timer = setInterval(() => this.wake(), this.#pollIntervalMs);
    this.#timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#subscription?.unsubscribe();
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    await this.#running;
  }

  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = null;
    });
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false;
      try {
        let result: DispatchResult;
        do {
          result = await this.dispatchOnce();
          // Committed: this process's delivery workers start now instead of at their next poll.
          if (result.jobs > 0) this.#jobs.wake(webhookDeliveryQueue);
        } while (result.full && !this.#stopped);
        if (result.waiting) {
          // Committed events wait behind a transaction still running: look again shortly,
          // 5 ms then doubling up to 100 ms, for as long as it runs.
          this.#retryMs = Math.min(Math.max(this.#retryMs * 2, 5), 100);
          clearTimeout(this.#retry);
          this.#retry = setTimeout(() => this.wake(), this.#retryMs);
          this.#retry.unref();
        } else {
          this.#retryMs = 0;
        }
        this.#failing = false;
      } catch (error) {
        if (!this.#failing) this.#log?.warn({ err: error }, 'webhook fan-out cannot read the log');
        this.#failing = true;
        return;
      }
    } while (this.#again && !this.#stopped);
  }

  /** One transaction of fan-out. Public for tests and benchmarks. */
  async dispatchOnce(): Promise<DispatchResult> {
    return this.#db.transaction(async (tx) => {
      const cursor = await lockCursor(tx);
      if (cursor === null) return { events: 0, jobs: 0, full: false, waiting: false };
      const rows = await readCommittedEvents(tx, cursor, this.#batchSize);
      const settledCount = rows.findIndex((row) => !row.settled);
      const settled = settledCount === -1 ? rows : rows.slice(0, settledCount);
      const last = settled[settled.length - 1];
      const waiting = settledCount !== -1;
      if (last === undefined) return { events: 0, jobs: 0, full: false, waiting };
      const projectIds = [
        ...new Set(settled.flatMap((row) => (row.projectId === null ? [] : [row.projectId]))),
      ];
      const webhooks = new Map<string, EnabledWebhook[]>();
      for (const webhook of await enabledWebhooksOf(tx, projectIds)) {
        const ofProject = webhooks.get(webhook.projectId);
        if (ofProject === undefined) webhooks.set(webhook.projectId, [webhook]);
        else ofProject.push(webhook);
      }
      const jobs = [];
      for (const event of settled) {
        if (event.projectId === null) continue;
        for (const webhook of webhooks.get(event.projectId) ?? []) {
          // A subscription hears what happened after it was made.
          if (webhook.createdAt > event.createdAt) continue;
          if (!matchesFilters(webhook.events, event.type)) continue;
          jobs.push({
            payload: { webhook_id: webhook.id, event_id: event.id, attempt: 1 },
            options: { group: webhook.id },
          });
        }
      }
      await this.#jobs.sendMany(tx, webhookDeliveryQueue, jobs);
      await moveCursor(tx, { txid: last.txid, seq: last.seq });
      return {
        events: settled.length,
        jobs: jobs.length,
        full: rows.length === this.#batchSize && !waiting,
        waiting,
      };
    });
  }
}

export interface DispatchResult {
  events: number;
  jobs: number;
  /** A full batch: more may be waiting. */
  full: boolean;
  /** Committed events wait behind a running transaction. */
  waiting: boolean;
}
