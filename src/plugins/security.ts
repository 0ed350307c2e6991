import compress from '@fastify/compress';
import cors from '@fastify/cors';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

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

/**
 * The headers helmet sets for `options`, worked out once. They depend on nothing in the request,
 * and running helmet per request rebuilds its middleware every time.
 */
export function securityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  // Helmet throws a bad option itself; the callback only says it is done.
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return Object.freeze(headers);
}

/** Security headers, CORS, compression and load shedding. */
export default fp(
  async function securityPlugin(app: FastifyInstance) {
    const { config } = app;

    // The API only ever answers JSON, so the strictest policy applies; the docs pages set their own.
    const headers = securityHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
      crossOriginEmbedderPolicy: false,
      strictTransportSecurity: config.nodeEnv === 'production' ? { maxAge: 31_536_000 } : false,
    });
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
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
