import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../lib/errors.js';

/**
 * A per-client request budget per minute. With Redis the counters are shared, so the
 * limit holds across every instance behind the load balancer.
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance) {
    await app.register(rateLimit, {
      global: true,
      max: app.config.rateLimitMax,
      timeWindow: 60_000,
      ...(app.redis ? { redis: app.redis, nameSpace: `${app.config.redisKeyPrefix}rl:` } : {}),
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new AppError(
          'rate_limited',
          `Rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${Math.ceil(context.ttl / 1000)} s.`,
        ),
    });
  },
  { name: 'rate-limit', dependencies: ['errors', 'redis'] },
);
