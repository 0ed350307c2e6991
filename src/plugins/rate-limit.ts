import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import { AppError } from '../lib/errors.js';
import { fallbackStore } from './rate-limit-store.js';

/**
 * A per-client request budget per minute. With Redis the counters are shared, so the
 * limit holds across every instance behind the load balancer; while Redis is away each
 * instance counts in its own memory.
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance) {
    const fallbacks = new Counter({
      name: 'docket_rate_limit_fallback_total',
      help: 'Rate-limit decisions taken in per-instance memory because Redis could not be used',
      registers: [app.metrics],
    });
    await app.register(rateLimit, {
      global: true,
      max: app.config.rateLimitMax,
      timeWindow: 60_000,
      ...(app.redisState
        ? {
            store: fallbackStore({
              redis: app.redisState,
              nameSpace: `${app.config.redisKeyPrefix}rl:`,
              onFallback: () => fallbacks.inc(),
            }),
          }
        : {}),
      errorResponseBuilder: (_request, context) =>
        new AppError(
          'rate_limited',
          `Rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${Math.ceil(context.ttl / 1000)} s.`,
        ),
    });
  },
  { name: 'rate-limit', dependencies: ['errors', 'redis', 'metrics'] },
);
