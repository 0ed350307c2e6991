import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';

/** Connects to Redis, failing fast when it cannot be reached at start-up. */
export async function openRedis(url: string | null): Promise<Redis | null> {
  if (url === null) return null;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
  });
  await redis.connect();
  return redis;
}

export default fp(
  async function redisPlugin(app: FastifyInstance, { redis }: { redis: Redis | null }) {
    app.decorate('redis', redis);
    if (redis) {
      redis.on('error', (error: Error) => app.log.warn({ err: error }, 'redis error'));
      app.addHook('onClose', async () => {
        await redis.quit().catch(() => redis.disconnect());
      });
    }
  },
  { name: 'redis' },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** `null` when `REDIS_URL` is not set: the app then runs as a single instance. */
    redis: Redis | null;
  }
}
