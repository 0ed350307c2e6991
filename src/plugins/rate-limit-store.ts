import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import LocalStore, {
  type RateLimitStore,
  type StoreCallback,
} from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';
import type { RedisState } from './redis.js';

/** How long a request waits on Redis for its count before counting in memory instead. */
const CALL_TIMEOUT_MS = 100;

export interface FallbackOptions {
  redis: RedisState;
  /** Prefix of the shared counters' keys. */
  nameSpace: string;
  /** Called for each decision taken in memory because Redis could not be used. */
  onFallback: () => void;
}

/**
 * Counts in Redis while it can be used, so the limit holds across instances, and in this
 * instance's memory while it cannot, so an outage loosens the limit (per instance) instead of
 * lifting it or making requests wait. It returns to Redis by itself once Redis is back.
 */
class FallbackStore implements RateLimitStore {
  constructor(
    private readonly shared: RateLimitStore,
    private readonly local: RateLimitStore,
    private readonly options: FallbackOptions,
  ) {}

  incr(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
    this.#apply('incr', key, callback, timeWindow, max);
  }

  read(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
    this.#apply('read', key, callback, timeWindow, max);
  }

  child(routeOptions: Parameters<RateLimitStore['child']>[0]): RateLimitStore {
    return new FallbackStore(
      this.shared.child(routeOptions),
      this.local.child(routeOptions),
      this.options,
    );
  }

  #apply(
    method: 'incr' | 'read',
    key: string,
    callback: StoreCallback,
    timeWindow: number,
    max: number,
  ): void {
    const { redis, onFallback } = this.options;
    const useLocal = (): void => {
      onFallback();
      this.local[method](key, callback, timeWindow, max);
    };
    if (!redis.isReady()) return useLocal();

    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      redis.reportFailure(error);
      useLocal();
    };
    // When the timer fires late because this process's own event loop stalled, a reply may
    // already be waiting on the socket: setImmediate runs after the loop has read it, so the
    // stall is not taken for a Redis outage.
    const timer = setTimeout(
      () => setImmediate(() => fail(new Error(`no answer within ${CALL_TIMEOUT_MS} ms`))),
      CALL_TIMEOUT_MS,
    );
    this.shared[method](
      key,
      (error, result) => {
        if (error) return fail(error);
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        redis.reportSuccess();
        callback(null, result);
      },
      timeWindow,
      max,
    );
  }
}

interface StoreParams {
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
}

/** A store constructor for @fastify/rate-limit's `store` option. */
export function fallbackStore(options: FallbackOptions): FastifyRateLimitStoreCtor {
  return class extends FallbackStore {
    constructor(params: StoreParams) {
      const continueExceeding = params.continueExceeding === true;
      const exponentialBackoff = params.exponentialBackoff === true;
      super(
        new RedisStore(
          continueExceeding,
          exponentialBackoff,
          options.redis.client,
          options.nameSpace,
        ),
        new LocalStore(continueExceeding, exponentialBackoff),
        options,
      );
    }
  };
}
