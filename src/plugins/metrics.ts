import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics: request counts and latency by route and status, plus process figures. */
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

    app.get(
      '/metrics',
      {
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics',
          description:
            'Prometheus text exposition: `http_request_duration_seconds` by method, route and status, ' +
            'plus process, heap and event-loop figures, `docket_redis_up` (where Redis is ' +
            'configured) and `docket_rate_limit_fallback_total` (rate-limit decisions taken in ' +
            'per-instance memory while Redis was away).',
          produces: ['text/plain'],
        },
        config: { rateLimit: false },
      },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: 'metrics', dependencies: ['redis'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}
