import compress from '@fastify/compress';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const EXPOSED_HEADERS = [
  'ETag',
  'Location',
  'Retry-After',
  'X-Request-Id',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Idempotency-Replayed',
];

/** Security headers, CORS, compression and load shedding. */
export default fp(
  async function securityPlugin(app: FastifyInstance) {
    const { config } = app;

    // The API only ever answers JSON, so the strictest policy applies; the docs pages set their own.
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
      crossOriginEmbedderPolicy: false,
      hsts: config.nodeEnv === 'production' ? { maxAge: 31_536_000 } : false,
    });

    await app.register(cors, {
      // An empty list allows no cross-origin caller; "*" is refused by the config loader.
      origin: config.corsOrigins.length === 0 ? false : [...config.corsOrigins],
      credentials: false,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: [
        'Authorization',
        'Content-Type',
        'If-Match',
        'If-None-Match',
        'Idempotency-Key',
        'X-Request-Id',
        'Last-Event-ID',
      ],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });

    await app.register(compress, {
      global: true,
      threshold: 1024,
      encodings: ['br', 'gzip', 'deflate'],
    });

    if (config.maxEventLoopDelayMs > 0) {
      await app.register(underPressure, {
        maxEventLoopDelay: config.maxEventLoopDelayMs,
        retryAfter: 5,
        exposeStatusRoute: false,
      });
    }
  },
  { name: 'security', dependencies: ['errors'] },
);
