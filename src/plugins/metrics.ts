import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { AppError } from '../lib/errors.js';
import Type from 'typebox';
import { described, ProblemSchema } from '../lib/route-docs.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** `Authorization: Bearer <token>` must carry `token`; compared in constant time. */
function requireMetricsToken(token: string) {
  const expected = digest(token);
  return async function checkMetricsToken(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const presented =
      header === undefined ? undefined : /^Bearer +(\S+)$/i.exec(header.trim())?.[1];
    // Equal-length digests, so neither the length nor a prefix of the token leaks through timing.
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      throw new AppError(
        header === undefined ? 'unauthenticated' : 'invalid_token',
        'The metrics need "Authorization: Bearer <METRICS_TOKEN>".',
        { headers: { 'www-authenticate': 'Bearer realm="metrics"' } },
      );
    }
  };
}

export default fp(
  async function metricsPlugin(app: FastifyInstance) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });

    const { redisState } = app;
    if (redisState) {
      new Gauge({
        name: 'docket_redis_up',
        help: '1 while Redis can be used; 0 while this instance runs degraded without it',
        registers: [registry],
        collect() {
          this.set(redisState.isReady() ? 1 : 0);
        },
      });
    }

    app.decorate('metrics', registry);
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the raw URL, keeps the label set bounded.
      const route = request.routeOptions.url ?? 'unmatched';
      duration.observe(
        { method: request.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  },
  { name: 'metrics', dependencies: ['redis'] },
);

/**
 * `GET /metrics`, registered after the rate limit so scraping spends a budget like any other
 * route (and wrong tokens do too).
 */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const registry = app.metrics;
  const { metricsToken } = app.config;
  app.get(
    '/metrics',
    {
      // After the rate limit's onRequest hook, so wrong tokens spend the caller's budget too.
      ...(metricsToken === null ? {} : { preHandler: requireMetricsToken(metricsToken) }),
      schema: {
        operationId: 'getMetrics',
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          'Prometheus text exposition: `http_request_duration_seconds` by method, route and status, ' +
          'plus process, heap and event-loop figures, `docket_redis_up` (where Redis is ' +
          'configured) and `docket_rate_limit_fallback_total` (rate-limit decisions taken in ' +
          'per-instance memory while Redis was away), `docket_relay_lag_seconds` (from an event being ' +
          'written to the event relay handing it to subscribers), ' +
          '`docket_relay_cursor_age_seconds` (since the relay last read all it could deliver), and for ' +
          'background jobs `docket_job_queue_depth{queue}` (jobs waiting, database-wide), ' +
          '`docket_job_duration_seconds{queue}` and `docket_job_failures_total{queue}` (attempts ' +
          'run by this process). When the server sets `METRICS_TOKEN`, send it ' +
          'as `Authorization: Bearer <METRICS_TOKEN>` (else 401); unset, the route is open and ' +
          'should be kept off the public network. Rate limited per client like the API.',
        produces: ['text/plain'],
        response: {
          200: described(
            Type.String({ maxLength: 10 * 1024 * 1024 }),
            'The figures in the Prometheus text format 0.0.4.',
          ),
          401: ProblemSchema,
        },
      },
      // Never shed: an overloaded instance is exactly when its figures are wanted.
      config: { pressureHandler: () => undefined },
    },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Read by @fastify/under-pressure: how this route answers while the instance sheds load. */
    pressureHandler?: () => void;
  }
  interface FastifyInstance {
    metrics: Registry;
  }
}
