import type { Database } from '../../db/client.js';
import type { EventRelay, EventSubscription, RelayedEvent } from '../activity/event-relay.js';
import { type EventPosition, LOG_START, toEventPublic } from '../activity/events.repository.js';
import { comparePositions } from './cursor.js';
import { Feed, type FeedIndex, type FeedProjects, type FeedSink, memberEventUser } from './feed.js';
import { listMemberProjectIds, readOldestPosition, readReplay } from './realtime.repository.js';

const REPLAY_BATCH = 500;

export interface FeedRequest {
  userId: string;
  projects: FeedProjects;
  after: EventPosition | null;
  /** Called when the feed falls too far behind during its replay. */
  onOverflow: () => void;
}

/**
 * Routes the relay's events to this instance's feeds through one `'all'` subscription:
 * feeds are indexed by project (and by user, for membership changes), and feeds still
 * replaying get everything, to hold until their replay is done.
 */
export class FeedRouter implements FeedIndex {
  readonly #db: Database;
  readonly #relay: EventRelay;
  readonly #pending = new Set<Feed>();
  readonly #byProject = new Map<string, Set<Feed>>();
  readonly #byUser = new Map<string, Set<Feed>>();
  #subscription: EventSubscription | null = null;

  constructor(db: Database, relay: EventRelay) {
    this.#db = db;
    this.#relay = relay;
  }

  start(): void {
    this.#subscription ??= this.#relay.subscribe('all', (delivery) => this.#dispatch(delivery));
  }

  stop(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = null;
  }

  /**
   * Opens a feed: live events are held from this moment, the events after `after` up to the
   * relay's position are replayed from the table (or a reset is sent when that history is
   * gone), then the held events follow, each position once.
   */
  async openFeed(request: FeedRequest, sink: FeedSink): Promise<Feed> {
    const { userId } = request;
    const feed = new Feed(userId, request.projects, sink);
    feed.onOverflow = request.onOverflow;
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
}
