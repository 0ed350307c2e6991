import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Probed every few seconds by load balancers and orchestrators: logged only at `debug`. */
function isHealthProbe(route: string | undefined): boolean {
  return route?.startsWith('/health/') === true;
}

/**
 * One line per request once it is answered, in place of Fastify's two (`incoming request` and
 * `request completed`, each with nested `req`/`res` objects). The request id comes from the
 * request's child logger.
 */
export default fp(
  async function requestLogPlugin(app: FastifyInstance) {
    app.decorateRequest('problemCode', null);
    app.addHook('onResponse', async (request, reply) => {
      const line = {
        method: request.method,
        // Stream tickets are credentials, if short-lived and single-use.
        url: request.url.replace(/([?&]ticket=)[^&]*/g, '$1[redacted]'),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(request.problemCode === null ? {} : { code: request.problemCode }),
      };
      if (isHealthProbe(request.routeOptions.url)) request.log.debug(line, 'request completed');
      else request.log.info(line, 'request completed');
    });
  },
  { name: 'request-log' },
);

declare module 'fastify' {
  interface FastifyRequest {
    /** The problem code of an error answer, for the request's log line; null otherwise. */
    problemCode: string | null;
  }
}
