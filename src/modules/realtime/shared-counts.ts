import type { RedisState } from '../../plugins/redis.js';

/** How long a claim waits on Redis before the instance decides alone. */
const CALL_TIMEOUT_MS = 100;

// Drops lapsed entries, then adds this one if the user is under the limit: one atomic step, so
// two instances admitting at once cannot both take the last place.
const CLAIM = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      setTimeout(() => reject(new Error('redis took too long')), CALL_TIMEOUT_MS).unref();
    }),
  ]);
}

/**
 * Open streams per user across instances: a Redis sorted set per user of connection ids, each
 * scored with when it lapses. Every heartbeat pushes this instance's entries forward, so the
 * entries of an instance that died fall away by themselves within `ttlMs`. While Redis cannot
 * be used, `claim` says so and the instance counts alone.
 */
export class SharedStreamCounts {
  constructor(
    private readonly redis: RedisState,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  #key(userId: string): string {
    return `${this.prefix}realtime:streams:${userId}`;
  }

  /** `true`: the place is taken; `false`: the user is at the limit; `null`: Redis is away. */
  async claim(userId: string, id: string, max: number): Promise<boolean | null> {
    if (!this.redis.isReady()) return null;
    const now = Date.now();
    try {
      const taken = await withTimeout(
        this.redis.client.eval(
          CLAIM,
          1,
          this.#key(userId),
          now,
          now + this.ttlMs,
          max,
          id,
          this.ttlMs * 2,
        ),
      );
      this.redis.reportSuccess();
      return taken === 1;
    } catch (error) {
      this.redis.reportFailure(error as Error);
      return null;
    }
  }

  release(userId: string, id: string): void {
    if (!this.redis.isReady()) return;
    this.redis.client.zrem(this.#key(userId), id).catch(() => undefined);
  }

  /** Keeps these entries alive for another `ttlMs`. */
  refresh(entries: Iterable<{ userId: string; id: string }>): void {
    if (!this.redis.isReady()) return;
    const pipeline = this.redis.client.pipeline();
    const until = Date.now() + this.ttlMs;
    for (const { userId, id } of entries) {
      pipeline.zadd(this.#key(userId), 'XX', until, id);
      pipeline.pexpire(this.#key(userId), this.ttlMs * 2);
    }
    if (pipeline.length > 0) pipeline.exec().catch(() => undefined);
  }
}
