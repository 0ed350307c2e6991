import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';

/**
 * Redis is optional and never required: every call must fail fast while it is away, so callers
 * fall back to per-instance state instead of making requests wait. Nothing queues while
 * disconnected; a connection that stops answering is dropped after `socketTimeout`, after which
 * calls fail at once until the client has reconnected. Callers on the request path set their own
 * tighter deadline (the rate-limit store: 100 ms); `commandTimeout` is the bound for every other
 * call, and is longer so that it never beats theirs.
 */
const REDIS_OPTIONS = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 250,
  socketTimeout: 1_000,
  connectTimeout: 1_000,
  // Keeps trying for as long as the process lives, at most once a second.
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
} as const;

/**
 * Connects to Redis. When it cannot be reached the client is returned anyway: the app starts
 * degraded and the client keeps reconnecting in the background.
 */
export async function openRedis(url: string | null): Promise<Redis | null> {
  if (url === null) return null;
  // Loaded only where Redis is configured. A CommonJS package: its exports are the namespace's
  // `default`, in Node and in the bundle.
  const { Redis: RedisClient } = (await import('ioredis')).default;
  const redis = new RedisClient(url, REDIS_OPTIONS);
  // Errors are logged by `RedisState` once the app is built; until then, this keeps ioredis
  // from printing each failed attempt to stderr.
  redis.on('error', () => undefined);
  await redis.connect().catch(() => undefined);
  return redis;
}

/** Closes politely, or at once when Redis cannot answer. */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * Whether Redis can be used right now, for every part of the app that degrades without it
 * (shared rate limits today). Logs one line when Redis goes away (the connection drops or a
 * call fails) and one when it is back (it reconnects or a call succeeds), however many
 * requests pass in between.
 */
export class RedisState {
  #up: boolean;
  #downSince = Date.now();
  #closing = false;
  #lastError: Error | undefined;

  constructor(
    readonly client: Redis,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#up = client.status === 'ready';
    if (!this.#up) {
      log.warn('redis unavailable at start-up; running degraded until it can be reached');
    }
    client.on('ready', () => this.#markUp());
    client.on('close', () => this.#markDown(this.#lastError));
    client.on('error', (error: Error) => {
      this.#lastError = error;
      log.debug({ err: error }, 'redis connection error');
    });
  }

  /** True while the connection is established; callers use their fallback otherwise. */
  isReady(): boolean {
    return this.client.status === 'ready';
  }

  /** A call succeeded: ends an outage that a failed call began. */
  reportSuccess(): void {
    if (!this.#up) this.#markUp();
  }

  /**
   * A call failed (a timeout, an error reply). A connection that stops answering is also
   * dropped by `socketTimeout`, which is then part of the same outage.
   */
  reportFailure(error: Error): void {
    this.#markDown(error);
  }

  /** Called on shutdown, so closing the connection on purpose is not reported as an outage. */
  close(): void {
    this.#closing = true;
  }

  #markUp(): void {
    this.#lastError = undefined;
    if (this.#up) return;
    this.#up = true;
    this.log.info(
      { down_ms: Date.now() - this.#downSince },
      'redis available again; shared state is used again',
    );
  }

  #markDown(error: Error | undefined): void {
    if (!this.#up || this.#closing) return;
    this.#up = false;
    this.#downSince = Date.now();
    this.log.warn(
      { err: error },
      'redis unavailable; running degraded on per-instance state until it returns',
    );
  }
}

export default fp(
  async function redisPlugin(app: FastifyInstance, { redis }: { redis: Redis | null }) {
    app.decorate('redis', redis);
    const state = redis ? new RedisState(redis, app.log) : null;
    app.decorate('redisState', state);
    if (redis && state) {
      app.addHook('onClose', async () => {
        state.close();
        await closeRedis(redis);
      });
    }
  },
  { name: 'redis' },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** `null` when `REDIS_URL` is not set: the app then runs as a single instance. */
    redis: Redis | null;
    /** `null` when `REDIS_URL` is not set; otherwise says whether Redis can be used now. */
    redisState: RedisState | null;
  }
}
