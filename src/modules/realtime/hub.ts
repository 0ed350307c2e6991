import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { EventRelay, EventSubscription, RelayedEvent } from '../activity/event-relay.js';
import { type EventPosition, LOG_START, toEventPublic } from '../activity/events.repository.js';
import { comparePositions } from './cursor.js';
import { Feed, type FeedIndex, type FeedProjects, type FeedSink, memberEventUser } from './feed.js';
import {
  type CredentialState,
  findCredentialStates,
  listMemberProjectIds,
  readOldestPosition,
  readReplay,
} from './realtime.repository.js';
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
}

const REPLAY_BATCH = 500;

/**
 * Owns every open stream of this instance: counts them against the limits, feeds them from one
 * relay subscription (indexed by project), pings them, re-checks their credentials, and ends
 * them on shutdown.
 */
export class RealtimeHub implements FeedIndex {
  readonly #db: Database;
  readonly #relay: EventRelay;
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #connections = new Set<StreamConnection>();
  readonly #perUser = new Map<string, number>();
  readonly #expiry = new Map<StreamConnection, NodeJS.Timeout>();
  readonly #slots = new Map<StreamConnection, StreamSlot>();
  #shared: SharedStreamCounts | null = null;
  readonly #pending = new Set<Feed>();
  readonly #byProject = new Map<string, Set<Feed>>();
  readonly #byUser = new Map<string, Set<Feed>>();
  #subscription: EventSubscription | null = null;
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

  constructor({ db, events, config, clock, log }: RealtimeHubOptions) {
    this.#db = db;
    this.#relay = events;
    this.#config = config;
    this.#clock = clock;
    this.#log = log;
  }

  /** Subscribes to the relay (started already) and starts the heartbeat and credential checks. */
  start(): void {
    if (this.#subscription !== null) return;
    this.#closing = false;
    this.#subscription = this.#relay.subscribe('all', (delivery) => this.#dispatch(delivery));
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
   * Opens a feed: live events are held from this moment, the events after `after` up to the
   * relay's position are replayed from the table (or a reset is sent when that history is
   * gone), then the held events follow, each position once.
   */
  async openFeed(
    connection: StreamConnection,
    request: { projects: FeedProjects; after: EventPosition | null },
    sink: FeedSink,
  ): Promise<Feed> {
    const { userId } = connection.credential;
    const feed = new Feed(userId, request.projects, sink);
    feed.onOverflow = () => this.#end(connection, 'overflow');
    this.#pending.add(feed);
    this.#indexUser(feed, true);
    // Everything the relay hands out from now on is held by the feed; everything up to here is
    // in the table.
    const upTo = this.#relay.position ?? LOG_START;
    try {
      feed.begin(await listMemberProjectIds(this.#db, userId), request.after ?? upTo);
      if (request.after !== null) await this.#replay(feed, request.after, upTo);
    } catch (error) {
      this.closeFeed(feed);
      throw error;
    }
    this.#pending.delete(feed);
    if (!feed.closed) feed.goLive(this);
    return feed;
  }

  closeFeed(feed: Feed): void {
    this.#pending.delete(feed);
    this.#indexUser(feed, false);
    feed.close();
  }

  join(feed: Feed, projectId: string): void {
    let feeds = this.#byProject.get(projectId);
    if (feeds === undefined) {
      feeds = new Set();
      this.#byProject.set(projectId, feeds);
    }
    feeds.add(feed);
  }

  leave(feed: Feed, projectId: string): void {
    const feeds = this.#byProject.get(projectId);
    feeds?.delete(feed);
    if (feeds?.size === 0) this.#byProject.delete(projectId);
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
    this.#subscription?.unsubscribe();
    this.#subscription = null;
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

  async #replay(feed: Feed, after: EventPosition, upTo: EventPosition): Promise<void> {
    const oldest = await readOldestPosition(this.#db);
    const gone =
      oldest === null ? comparePositions(after, upTo) < 0 : comparePositions(after, oldest) < 0;
    if (gone) {
      feed.reset(upTo);
      return;
    }
    let from = after;
    for (;;) {
      if (feed.closed) return;
      const rows = await readReplay(
        this.#db,
        { after: from, upTo },
        feed.userId,
        [...feed.projects],
        REPLAY_BATCH,
      );
      for (const row of rows) {
        const position = { txid: row.txid, seq: row.seq };
        feed.handle(toEventPublic(row), position);
        from = position;
      }
      if (rows.length < REPLAY_BATCH) return;
    }
  }

  #indexUser(feed: Feed, on: boolean): void {
    let feeds = this.#byUser.get(feed.userId);
    if (on) {
      if (feeds === undefined) {
        feeds = new Set();
        this.#byUser.set(feed.userId, feeds);
      }
      feeds.add(feed);
      return;
    }
    feeds?.delete(feed);
    if (feeds?.size === 0) this.#byUser.delete(feed.userId);
  }

  #dispatch({ event, position }: RelayedEvent): void {
    const aboutUser = memberEventUser(event);
    const projectFeeds =
      event.project_id === null ? undefined : this.#byProject.get(event.project_id);
    if (this.#pending.size === 0 && aboutUser === null) {
      if (projectFeeds === undefined) return;
      for (const feed of [...projectFeeds]) feed.deliver(event, position);
      return;
    }
    const targets = new Set<Feed>(this.#pending);
    for (const feed of projectFeeds ?? []) targets.add(feed);
    if (aboutUser !== null) for (const feed of this.#byUser.get(aboutUser) ?? []) targets.add(feed);
    for (const feed of targets) feed.deliver(event, position);
  }

  #heartbeat(): void {
    for (const connection of [...this.#connections]) connection.heartbeat();
    const shared = [...this.#slots.values()].filter((slot) => slot.shared);
    if (shared.length > 0) this.#shared?.refresh(shared);
  }
}
