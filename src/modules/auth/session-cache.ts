import type { Redis } from 'ioredis';

/**
 * Session liveness, remembered for at most `ttlMs` (≤ 1 s) so a busy access JWT does not ask the
 * database on every request.
 *
 * The invalidation rule: every change that can end or alter what an access JWT resolves to (a
 * session revoked — logout, `DELETE /users/me/sessions/{id}`, `/oauth/revoke`, refresh-token
 * reuse — a password changed or reset, a user deactivated, promoted, demoted or deleted) calls
 * `invalidateUser(userId)` after its transaction commits. That drops the user's entries on this
 * instance at once and publishes the user id to every other instance (Redis pub/sub), which drop
 * theirs when it arrives (milliseconds). A lookup that started before an invalidation never
 * stores its answer (the generation check), so a read racing a revocation cannot re-cache it.
 *
 * The cache only serves while its transport can deliver invalidations: with Redis, while the
 * subscription is established (entries are dropped whenever it is lost or re-established, since
 * messages may have been missed); without Redis, only when the deployment says it is a single
 * instance (`SINGLE_INSTANCE=true`). Otherwise every request checks the database. And since no
 * entry lives longer than 1 s, even a lost message cannot keep a revoked session alive longer.
 *
 * Personal access tokens are not cached: each use is checked in the database.
 */
export interface CachedSession {
  userId: string;
  isSuperuser: boolean;
  expiresAt: number;
}

export interface Lookup {
  generation: number;
  at: number;
}

interface Entry extends CachedSession {
  storedAt: number;
}

/** Carries invalidations between instances. */
export interface InvalidationTransport {
  /** True while invalidations from every instance reach this one. */
  ready(): boolean;
  /** Tells every other instance (this one may hear it too; that is harmless). */
  publish(userId: string): Promise<void>;
  /** `onUser` for each invalidation heard; `onReset` whenever delivery may have had a gap. */
  listen(onUser: (userId: string) => void, onReset: () => void): Promise<void>;
  close(): Promise<void>;
}

/** For a deployment that runs exactly one instance: nothing to tell anyone. */
export const singleInstanceTransport: InvalidationTransport = {
  ready: () => true,
  publish: async () => undefined,
  listen: async () => undefined,
  close: async () => undefined,
};

/** Redis pub/sub on a connection of its own; ready only while subscribed. */
export function redisInvalidations(redis: Redis, channel: string): InvalidationTransport {
  const subscriber = redis.duplicate();
  subscriber.on('error', () => undefined);
  let subscribed = false;
  return {
    ready: () => subscribed && subscriber.status === 'ready',
    async publish(userId) {
      await redis.publish(channel, userId);
    },
    async listen(onUser, onReset) {
      subscriber.on('message', (from: string, userId: string) => {
        if (from === channel) onUser(userId);
      });
      subscriber.on('close', () => {
        subscribed = false;
        onReset();
      });
      // Subscribes again after every reconnect; what was sent meanwhile is lost, so drop it all.
      subscriber.on('ready', () => {
        subscriber.subscribe(channel).then(
          () => {
            onReset();
            subscribed = true;
          },
          () => undefined,
        );
      });
      await subscriber.connect().catch(() => undefined);
    },
    async close() {
      subscribed = false;
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

export interface SessionCacheOptions {
  /** 0 turns the cache off; at most 1000. */
  ttlMs: number;
  maxEntries?: number;
  /** `null`: no transport, the cache stays off. */
  transport: InvalidationTransport | null;
}

export class SessionCache {
  /** How many lookups were answered from memory, and how many asked the database. */
  readonly stats = { hits: 0, misses: 0 };
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly transport: InvalidationTransport | null;
  private generation = 0;
  private listening = false;
  private readonly invalidationListeners: ((userId: string) => void)[] = [];

  constructor({ ttlMs, maxEntries = 10_000, transport }: SessionCacheOptions) {
    this.ttlMs = Math.min(ttlMs, 1_000);
    this.maxEntries = maxEntries;
    this.transport = ttlMs > 0 ? transport : null;
  }

  /** Starts hearing other instances' invalidations. */
  async start(): Promise<void> {
    if (this.transport === null || this.listening) return;
    this.listening = true;
    await this.transport.listen(
      (userId) => this.dropUser(userId),
      () => this.clear(),
    );
  }

  async stop(): Promise<void> {
    this.clear();
    if (this.listening) await this.transport?.close();
    this.listening = false;
  }

  /** Whether entries may be served now. */
  enabled(): boolean {
    return this.transport !== null && this.listening && this.transport.ready();
  }

  /** The remembered answer for a session, or `undefined` (then ask the database). */
  get(sessionId: string): CachedSession | undefined {
    if (!this.enabled()) {
      this.stats.misses++;
      return undefined;
    }
    const entry = this.entries.get(sessionId);
    if (entry === undefined || performance.now() - entry.storedAt >= this.ttlMs) {
      if (entry !== undefined) this.entries.delete(sessionId);
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return entry;
  }

  /** Whether an entry is kept for the session, fresh or not (for tests). */
  holds(sessionId: string): boolean {
    return this.entries.has(sessionId);
  }

  /** A token for `set`, taken before the database is asked. */
  begin(): Lookup {
    return { generation: this.generation, at: performance.now() };
  }

  /**
   * Remembers a live session, unless an invalidation happened since `begin`; its age counts
   * from before the database was asked.
   */
  set(sessionId: string, value: CachedSession, lookup: Lookup): void {
    if (!this.enabled() || lookup.generation !== this.generation) return;
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: a Map iterates in insertion order.
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(sessionId, { ...value, storedAt: lookup.at });
  }

  /** After a commit that ends or changes a user's sessions: here at once, elsewhere on delivery. */
  async invalidateUser(userId: string): Promise<void> {
    this.dropUser(userId);
    if (this.transport === null) return;
    // A lost message is bounded by the TTL (≤ 1 s); the change itself is already committed.
    await this.transport.publish(userId).catch(() => undefined);
  }

  /**
   * Told of every user whose sessions were ended or changed, here or (through the transport) on
   * another instance, cache on or off: open event streams re-check their credentials at once.
   */
  onInvalidate(listener: (userId: string) => void): void {
    this.invalidationListeners.push(listener);
  }

  private dropUser(userId: string): void {
    this.generation++;
    for (const [sessionId, entry] of this.entries) {
      if (entry.userId === userId) this.entries.delete(sessionId);
    }
    for (const listener of this.invalidationListeners) listener(userId);
  }

  private clear(): void {
    this.generation++;
    this.entries.clear();
  }
}
