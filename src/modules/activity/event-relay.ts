import type { Database } from '../../db/client.js';
import { onCommitSignal } from '../../db/commit-signal.js';
import {
  type EventPosition,
  readCommittedEvents,
  readHeadPosition,
  toEventPublic,
} from './events.repository.js';
import type { EventPublic } from './events.schemas.js';
import type { HintChannel } from './relay-hints.js';

/** One event as the relay hands it out, with the log position right after it. */
export interface RelayedEvent {
  event: EventPublic;
  position: EventPosition;
}

export type EventListener = (delivery: RelayedEvent) => void;

/** Which projects a subscriber hears: a set of ids, or every project. */
export type ProjectFilter = Iterable<string> | 'all';

export interface EventSubscription {
  /** Replaces the projects heard from the next event on (membership changes, re-subscribes). */
  setProjects(projects: ProjectFilter): void;
  unsubscribe(): void;
}

/** The in-process side of the relay: what streams and webhooks use. */
export interface EventSource {
  subscribe(projects: ProjectFilter, listener: EventListener): EventSubscription;
}

interface Logger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

export interface EventRelayOptions {
  db: Database;
  /** Wakes this relay when other instances commit, and tells them when this one does. */
  hints?: HintChannel | null;
  /** The fallback read: a lost hint costs at most this long. Default 1 000 ms. */
  pollIntervalMs?: number;
  /** Events read per query. Default 500. */
  batchSize?: number;
  /** Default: silent. */
  log?: Logger;
}

/** Told of every event handed out, with the seconds since it was written (for metrics). */
export type PublishObserver = (event: EventPublic, lagSeconds: number) => void;

const silent: Logger = { warn: () => undefined, info: () => undefined };

interface Subscriber {
  projects: Set<string> | 'all';
  listener: EventListener;
}

function toFilter(projects: ProjectFilter): Set<string> | 'all' {
  return projects === 'all' ? 'all' : new Set(projects);
}

/**
 * Tails the committed event log and hands each event to this instance's subscribers, at least
 * once and in log order. One per instance. It starts at the head (no history is replayed), reads
 * when woken by a commit of this instance, by a hint from another, or by its poll, and only ever
 * reads positions below the oldest running transaction, so no event committing late is skipped.
 */
export class EventRelay implements EventSource {
  readonly #db: Database;
  readonly #hints: HintChannel | null;
  readonly #pollIntervalMs: number;
  readonly #batchSize: number;
  readonly #log: Logger;
  readonly #observers = new Set<PublishObserver>();
  readonly #subscribers = new Set<Subscriber>();
  #position: EventPosition | null = null;
  #caughtUpAt = Date.now();
  #reading: Promise<void> | null = null;
  #readAgain = false;
  #sending = false;
  #sendAgain = false;
  #failing = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = 0;
  #stopCommitSignal: (() => void) | undefined;

  constructor(options: EventRelayOptions) {
    this.#db = options.db;
    this.#hints = options.hints ?? null;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#batchSize = options.batchSize ?? 500;
    this.#log = options.log ?? silent;
  }

  /** Starts at the current head of the log. */
  async start(): Promise<void> {
    this.#position = await readHeadPosition(this.#db);
    this.#caughtUpAt = Date.now();
    this.#stopCommitSignal = onCommitSignal(this.#db, () => this.#committedHere());
    await this.#hints?.listen(() => this.wake());
    this.#timer = setInterval(() => this.wake(), this.#pollIntervalMs);
    this.#timer.unref();
  }

  /** Stops reading and hinting; waits for a read in progress. Subscribers hear nothing more. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#stopCommitSignal?.();
    await this.#reading;
    await this.#hints?.close().catch(() => undefined);
    this.#subscribers.clear();
  }

  subscribe(projects: ProjectFilter, listener: EventListener): EventSubscription {
    const subscriber: Subscriber = { projects: toFilter(projects), listener };
    this.#subscribers.add(subscriber);
    return {
      setProjects: (next) => {
        subscriber.projects = toFilter(next);
      },
      unsubscribe: () => {
        this.#subscribers.delete(subscriber);
      },
    };
  }

  /** Adds a metrics observer; unlike subscribers, it sees every event and outlives `stop`. */
  observePublished(observer: PublishObserver): void {
    this.#observers.add(observer);
  }

  /** The position after the last event handed out (`null` before `start`). */
  get position(): EventPosition | null {
    return this.#position;
  }

  /** Seconds since the relay last read all it could deliver (a failing read lets it grow). */
  cursorAgeSeconds(): number {
    return (Date.now() - this.#caughtUpAt) / 1000;
  }

  /** Reads the log now (or right after the read in progress). */
  wake(): void {
    if (this.#stopped || this.#position === null) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#drain().finally(() => {
      this.#reading = null;
    });
  }

  /** Resolves once every event committed before the call has been handed out. */
  async flush(): Promise<void> {
    this.wake();
    while (this.#reading) await this.#reading;
  }

  #committedHere(): void {
    this.wake();
    if (this.#hints) void this.#sendHint();
  }

  /** At most one hint in flight; commits meanwhile share the next one. */
  async #sendHint(): Promise<void> {
    if (this.#sending) {
      this.#sendAgain = true;
      return;
    }
    this.#sending = true;
    try {
      do {
        this.#sendAgain = false;
        await this.#hints?.send().catch(() => undefined);
      } while (this.#sendAgain && !this.#stopped);
    } finally {
      this.#sending = false;
    }
  }

  async #drain(): Promise<void> {
    do {
      this.#readAgain = false;
      try {
        let full: boolean;
        let unsettled = false;
        do {
          if (this.#stopped || this.#position === null) return;
          const rows = await readCommittedEvents(this.#db, this.#position, this.#batchSize);
          full = rows.length === this.#batchSize;
          for (const row of rows) {
            if (!row.settled) {
              unsettled = true;
              break;
            }
            this.#position = { txid: row.txid, seq: row.seq };
            this.#publish(toEventPublic(row), this.#position, row.createdAt);
          }
        } while (full && !unsettled);
        this.#caughtUpAt = Date.now();
        if (unsettled) this.#retrySoon();
        else this.#retryMs = 0;
        if (this.#failing) {
          this.#failing = false;
          this.#log.info({}, 'event relay reading again');
        }
      } catch (error) {
        // The next poll retries from the same position; one line per outage.
        if (!this.#failing) this.#log.warn({ err: error }, 'event relay cannot read the log');
        this.#failing = true;
        return;
      }
    } while (this.#readAgain);
  }

  /**
   * Committed events wait behind a transaction still running (on a busy server, usually one
   * that began a moment ago): look again shortly, 5 ms then doubling up to 50 ms, an indexed
   * read of a few rows, for as long as it runs.
   */
  #retrySoon(): void {
    this.#retryMs = Math.min(Math.max(this.#retryMs * 2, 5), 50, this.#pollIntervalMs);
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.wake(), this.#retryMs);
    this.#retry.unref();
  }

  #publish(event: EventPublic, position: EventPosition, writtenAt: Date): void {
    const lag = Math.max(0, (Date.now() - writtenAt.getTime()) / 1000);
    for (const observer of this.#observers) observer(event, lag);
    const delivery = { event, position };
    for (const subscriber of this.#subscribers) {
      if (
        subscriber.projects !== 'all' &&
        (event.project_id === null || !subscriber.projects.has(event.project_id))
      ) {
        continue;
      }
      try {
        subscriber.listener(delivery);
      } catch (error) {
        this.#log.warn({ err: error }, 'event subscriber failed');
      }
    }
  }
}
