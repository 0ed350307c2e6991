import type { FastifyInstance } from 'fastify';
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

export async function checkReadiness(app: FastifyInstance): Promise<HealthCheck> {
  if (app.lifecycle.draining) return { status: 'unavailable', draining: true };
  const { redis } = app;
  const [database, redisState] = await Promise.all([
    probe(() => app.database.ping()),
    redis ? probe(() => redis.ping()) : Promise.resolve('not_configured' as const),
  ]);
  const ok = database === 'ok' && redisState !== 'unavailable';
  return { status: ok ? 'ok' : 'unavailable', database, redis: redisState };
}
