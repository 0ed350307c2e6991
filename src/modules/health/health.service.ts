import type { FastifyInstance } from 'fastify';
import type { RedisState } from '../../plugins/redis.js';
import type { HealthCheck } from './health.schemas.js';

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Only the database makes an instance unready: Redis is optional, and without it the instance
 * serves on per-instance state, so a Redis outage must not pull every instance at once.
 */
export async function checkReadiness(app: FastifyInstance): Promise<HealthCheck> {
  if (app.lifecycle.draining) return { status: 'unavailable', draining: true };
  const { redisState } = app;
  const [database, redis] = await Promise.all([
    probe(() => app.database.ping()),
    redisState ? checkRedis(redisState) : Promise.resolve('not_configured' as const),
  ]);
  return { status: database === 'ok' ? 'ok' : 'unavailable', database, redis };
}

async function checkRedis(redisState: RedisState): Promise<'ok' | 'degraded'> {
  if (!redisState.isReady()) return 'degraded';
  return (await probe(() => redisState.client.ping())) === 'ok' ? 'ok' : 'degraded';
}
