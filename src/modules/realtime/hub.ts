import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { EventRelay } from '../activity/event-relay.js';
import type { SessionCache } from '../auth/session-cache.js';
import type { EventPosition } from '../activity/events.repository.js';
import type { Feed, FeedProjects, FeedSink } from './feed.js';
import { FeedRouter } from './feed-router.js';
import { type CredentialState, findCredentialStates } from './realtime.repository.js';
import type { SharedStreamCounts } from './shared-counts.js';

/** Who a stream acts for, and what keeps it authorised. */
export interface StreamCredential {
  userId: string;
  sessionId: string | null;
  tokenId: string | null;
  /** When the credential stops working on its own (an access token's `exp`), epoch ms. */
  expiresAt: number | null;
}

export type Transport = 'sse' | 'ws';

/** A place under the per-user limit, taken before a stream opens and given back when it ends. */
export interface StreamSlot {
  readonly userId: string;
  readonly id: string;
  /** Counted in Redis (across instances) rather than by this instance alone. */
  readonly shared: boolean;
  attached: boolean;
}

/** Why the hub ends a connection. */
export type EndReason =
  | 'shutdown'
  | 'credential_ended'
  | 'deactivated'
  | 'expired'
  | 'slow_reader'
  | 'overflow'
  | 'no_pong';

/** An open SSE response or WebSocket, counted, pinged and ended by the hub. */
export interface StreamConnection {
  readonly transport: Transport;
  readonly credential: StreamCredential;
  heartbeat(): void;
  end(reason: EndReason): void;
}

interface Logger {
  warn(object: object, message: string): void;
}

export interface RealtimeHubOptions {
  db: Database;
  events: EventRelay;
  config: Config;
  clock: Clock;
  log?: Logger;
  /** Its invalidations end a user's streams at once instead of at the next periodic check. */
  sessionCache?: SessionCache;
}

/**
 * Owns every open stream of this instance: counts them against the limits, feeds them through
 * its `FeedRouter`, pings them, re-checks their credentials, and ends them on shutdown.
 */
export class RealtimeHub {
  readonly #db: Database;
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #connections = new Set<StreamConnection>();
  readonly #perUser = new Map<string, number>();
  readonly #expiry = new Map<StreamConnection, NodeJS.Timeout>();
  readonly #slots = new Map<StreamConnection, StreamSlot>();
  #shared: SharedStreamCounts | null = null;
  readonly #router: FeedRouter;
  #timers: NodeJS.Timeout[] = [];
  #closing = false;
  readonly #sent = new Counter({
    name: 'docket_realtime_events_sent_total',
    help: 'Events written to streams',
    labelNames: ['transport'],
    registers: [],
  });
  readonly #drops = new Counter({
    name: 'docket_realtime_drops_total',
    help: 'Streams ended by the server other than for shutdown (slow reader, lost peer, credential)',
    labelNames: ['reason'],
    registers: [],
  });

  constructor({ db, events, config, clock, log, sessionCache }: RealtimeHubOptions) {
    this.#db = db;
    this.#router = new FeedRouter(db, events);
    this.#config = config;
    this.#clock = clock;
    this.#log = log;
    sessionCache?.onInvalidate((userId) => {
      if (this.#timers.length === 0) return;
      for (const { credential } of this.#connections) {
        if (credential.userId === userId) {
          void this.checkCredentials();
          return;
        }
      }
    });
  }

  /** Subscribes to the relay (started already) and starts the heartbeat and credential checks. */
  start(): void {
    if (this.#timers.length > 0) return;
    this.#closing = false;
    this.#router.start();
    const ping = setInterval(() => this.#heartbeat(), this.#config.realtimePingIntervalMs);
    const check = setInterval(
      () => void this.checkCredentials(),
      this.#config.realtimeAuthCheckIntervalMs,
    );
    ping.unref();
    check.unref();
    this.#timers = [ping, check];
  }

  /** Adds the figures to `/metrics`. */
  exposeMetrics(registry: Registry): void {
    registry.registerMetric(this.#sent);
    registry.registerMetric(this.#drops);
    const connections = this.#connections;
    registry.registerMetric(
      new Gauge({
        name: 'docket_realtime_connections',
        help: 'Open event streams on this instance',
        labelNames: ['transport'],
        registers: [],
        collect() {
          let sse = 0;
          for (const connection of connections) if (connection.transport === 'sse') sse += 1;
          this.set({ transport: 'sse' }, sse);
          this.set({ transport: 'ws' }, connections.size - sse);
        },
      }),
    );
  }

  /** Counts streams per user across instances from now on (Redis configured). */
  shareCounts(shared: SharedStreamCounts): void {
    this.#shared = shared;
  }

  /**
   * Takes a place for a new stream, or refuses it: 429 beyond the per-user limit (across
   * instances while Redis can be used, else on this one), 503 beyond the instance's limit or
   * while it shuts down.
   */
  async admit(userId: string): Promise<StreamSlot> {
    const max = this.#config.realtimeMaxConnectionsPerUser;
    if (this.#closing) throw new AppError('service_unavailable', 'The instance is shutting down.');
    if (this.#connections.size >= this.#config.realtimeMaxConnections) {
      throw new AppError('service_unavailable', 'This instance holds all the streams it can.', {
        headers: { 'retry-after': '5' },
      });
    }
    const tooMany = () =>
      new AppError('too_many_streams', `At most ${max} streams may be open per user.`, {
        headers: { 'retry-after': '5' },
      });
    if ((this.#perUser.get(userId) ?? 0) >= max) throw tooMany();
    const id = randomUUID();
    const claimed = (await this.#shared?.claim(userId, id, max)) ?? null;
    if (claimed === false) throw tooMany();
    return { userId, id, shared: claimed === true, attached: false };
  }

  /** Gives back a place whose stream never opened. */
  release(slot: StreamSlot): void {
    if (slot.shared) this.#shared?.release(slot.userId, slot.id);
  }

  attach(connection: StreamConnection, slot: StreamSlot): void {
    slot.attached = true;
    this.#slots.set(connection, slot);
    this.#connections.add(connection);
    const { userId, expiresAt } = connection.credential;
    this.#perUser.set(userId, (this.#perUser.get(userId) ?? 0) + 1);
    if (expiresAt !== null) {
      const timer = setTimeout(
        () => this.#end(connection, 'expired'),
        Math.min(Math.max(expiresAt - Date.now(), 0), 2 ** 31 - 1),
      );
      timer.unref();
      this.#expiry.set(connection, timer);
    }
  }

  detach(connection: StreamConnection): void {
    if (!this.#connections.delete(connection)) return;
    const { userId } = connection.credential;
    const count = (this.#perUser.get(userId) ?? 1) - 1;
    if (count > 0) this.#perUser.set(userId, count);
    else this.#perUser.delete(userId);
    clearTimeout(this.#expiry.get(connection));
    this.#expiry.delete(connection);
    const slot = this.#slots.get(connection);
    this.#slots.delete(connection);
    if (slot) this.release(slot);
  }

  get size(): number {
    return this.#connections.size;
  }

  /** Counts an event written by a connection. */
  countSent(transport: Transport): void {
    this.#sent.inc({ transport });
  }

  /**
   * Opens a feed for a connection (see `FeedRouter.openFeed`); one that falls too far behind
   * during its replay ends the connection.
   */
  openFeed(
    connection: StreamConnection,
    request: { projects: FeedProjects; after: EventPosition | null },
    sink: FeedSink,
  ): Promise<Feed> {
    return this.#router.openFeed(
      {
        ...request,
        userId: connection.credential.userId,
        onOverflow: () => this.#end(connection, 'overflow'),
      },
      sink,
    );
  }

  closeFeed(feed: Feed): void {
    this.#router.closeFeed(feed);
  }

  /** Ends the streams whose session or token was revoked or expired, or whose user was deactivated. */
  async checkCredentials(): Promise<void> {
    // Only the streams open when the query starts: one opened meanwhile is not in its answer.
    const checked = [...this.#connections];
    const sessionIds = new Set<string>();
    const tokenIds = new Set<string>();
    for (const { credential } of checked) {
      if (credential.sessionId !== null) sessionIds.add(credential.sessionId);
      if (credential.tokenId !== null) tokenIds.add(credential.tokenId);
    }
    if (sessionIds.size === 0 && tokenIds.size === 0) return;
    let states: Map<string, CredentialState>;
    try {
      states = await findCredentialStates(
        this.#db,
        [...sessionIds],
        [...tokenIds],
        this.#clock.now(),
      );
    } catch (error) {
      // The next check tries again; a database outage does not end every stream.
      this.#log?.warn({ err: error }, 'stream credentials could not be checked');
      return;
    }
    for (const connection of checked) {
      const { sessionId, tokenId } = connection.credential;
      const state = states.get(sessionId ?? tokenId ?? '') ?? 'ended';
      if (state === 'deactivated') this.#end(connection, 'deactivated');
      else if (state === 'ended') this.#end(connection, 'credential_ended');
    }
  }

  /** Ends every stream, telling each to reconnect elsewhere; refuses new ones. */
  shutdown(): void {
    this.#closing = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#router.stop();
    for (const connection of [...this.#connections]) connection.end('shutdown');
  }

  /** Counts a stream the server ended for a reason other than shutdown. */
  countDrop(reason: EndReason): void {
    if (reason !== 'shutdown') this.#drops.inc({ reason });
  }

  #end(connection: StreamConnection, reason: EndReason): void {
    if (!this.#connections.has(connection)) return;
    connection.end(reason);
  }

  #heartbeat(): void {
    for (const connection of [...this.#connections]) connection.heartbeat();
    const shared = [...this.#slots.values()].filter((slot) => slot.shared);
    if (shared.length > 0) this.#shared?.refresh(shared);
  }
}
