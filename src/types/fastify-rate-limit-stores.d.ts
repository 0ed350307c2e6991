// @fastify/rate-limit ships its two stores without types; the fallback store composes them.
declare module '@fastify/rate-limit/store/LocalStore.js' {
  import type { FastifyRateLimitStore } from '@fastify/rate-limit';

  export type StoreCallback = (
    error: Error | null,
    result?: { current: number; ttl: number },
  ) => void;

  export interface RateLimitStore extends FastifyRateLimitStore {
    read(key: string, callback: StoreCallback, timeWindow: number, max: number): void;
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): RateLimitStore;
  }

  const LocalStore: new (
    continueExceeding: boolean,
    exponentialBackoff: boolean,
    cache?: number,
  ) => RateLimitStore;
  export default LocalStore;
}

declare module '@fastify/rate-limit/store/RedisStore.js' {
  import type { RateLimitStore } from '@fastify/rate-limit/store/LocalStore.js';
  import type { Redis } from 'ioredis';

  const RedisStore: new (
    continueExceeding: boolean,
    exponentialBackoff: boolean,
    redis: Redis,
    key?: string,
  ) => RateLimitStore;
  export default RedisStore;
}
