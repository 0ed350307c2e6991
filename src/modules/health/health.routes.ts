import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described } from '../../lib/route-docs.js';
import { HealthCheckSchema } from './health.schemas.js';
import { checkReadiness } from './health.service.js';

const operational = { rateLimit: false } as const;

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health/live',
    {
      config: operational,
      schema: {
        operationId: 'getLiveness',
        tags: ['operations'],
        summary: 'Liveness',
        description: 'Answers 200 while the process is up; it checks nothing else.',
        response: { 200: described(HealthCheckSchema, 'The process is up.') },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: operational,
      schema: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'Readiness',
        description:
          'Answers 200 when the database can be reached; 503 while it cannot, or while the ' +
          'process is draining for shutdown. A Redis outage does not make the instance unready: ' +
          'it reports `redis: "degraded"` and serves on per-instance state.',
        response: {
          200: described(HealthCheckSchema, 'Ready to serve; what was checked.'),
          503: described(
            HealthCheckSchema,
            'Not ready: the database cannot be reached, or the process is draining.',
          ),
        },
      },
    },
    async (_request, reply) => {
      const result = await checkReadiness(app);
      return reply.code(result.status === 'ok' ? 200 : 503).send(result);
    },
  );
};
