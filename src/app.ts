import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { createValidators } from './lib/ajv.js';
import { sharedSerializers } from './lib/shared-serializers.js';
import { rejectNulCharacters } from './lib/validation.js';
import { JobQueue } from './jobs/job-queue.js';
import { Mailer } from './lib/mailer.js';
import { activityRoutes } from './modules/activity/activity.routes.js';
import { EVENT_SCHEMA_ID, EventSchema } from './modules/activity/events.schemas.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { calendarRoutes } from './modules/calendar/calendar.routes.js';
import { commentsRoutes } from './modules/comments/comments.routes.js';
import { exportsRoutes } from './modules/exports/exports.routes.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { importsRoutes } from './modules/imports/imports.routes.js';
import { jobsRoutes } from './modules/jobs/jobs.routes.js';
import { membersRoutes } from './modules/projects/members.routes.js';
import { projectsRoutes } from './modules/projects/projects.routes.js';
import { demoRoutes } from './modules/realtime/demo.routes.js';
import { realtimeRoutes } from './modules/realtime/realtime.routes.js';
import { tasksRoutes } from './modules/tasks/tasks.routes.js';
import { usersRoutes } from './modules/users/users.routes.js';
import type { HostResolver } from './modules/webhooks/ssrf-guard.js';
import { webhooksRoutes } from './modules/webhooks/webhooks.routes.js';
import authPlugin from './plugins/auth.js';
import dbPlugin from './plugins/db.js';
import docsPlugin from './plugins/docs.js';
import errorsPlugin, { frameworkErrorHandler, notFoundHandler } from './plugins/errors.js';
import eventsPlugin, { createEventRelay } from './plugins/events.js';
import idempotencyPlugin from './plugins/idempotency.js';
import metricsPlugin, { metricsRoutes } from './plugins/metrics.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import redisPlugin, { closeRedis, openRedis } from './plugins/redis.js';
import requestLogPlugin from './plugins/request-log.js';
import securityPlugin from './plugins/security.js';
import {
  redisInvalidations,
  SessionCache,
  singleInstanceTransport,
} from './modules/auth/session-cache.js';
import { createServices } from './services.js';

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface BuildOptions {
  /** An already-open database; the app takes ownership and closes it. Default: opened from config. */
  database?: DatabaseHandle;
  /** An already-open Redis client; the app takes ownership and closes it. */
  redis?: Redis | null;
  /** Apply pending migrations before serving. Default true. */
  migrate?: boolean;
  /** A logger stream, for tests that read log lines. */
  logStream?: NodeJS.WritableStream;
  /** How webhook host names are resolved. Default: the system resolver. */
  resolveHost?: HostResolver;
}

const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const BODY_LIMIT = 1024 * 1024;

/** Keeps a client's request id when it is a sane token, so logs across services line up. */
function requestId(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.secret',
];

export function loggerOptions(
  config: Config,
  stream?: NodeJS.WritableStream,
): FastifyServerOptions['logger'] {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  if (stream) return { ...options, stream };
  if (config.nodeEnv === 'development') {
    return {
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { translateTime: 'SYS:HH:MM:ss.l', singleLine: true },
      },
    };
  }
  return options;
}

/** A hop count trusts that many proxies in front of the app; fastify takes it as a function. */
function trustProxyOption(
  value: Config['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof value === 'number') return (_address, hop) => hop < value;
  return typeof value === 'boolean' ? value : [...value];
}

/**
 * Builds the whole application without listening; `server.ts` and the tests both use it.
 * When a step fails, what was already opened (or handed in) is closed before the error is
 * rethrown, so a failed start leaves no connection behind.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const opened: (() => Promise<unknown>)[] = [];
  try {
    return await assembleApp(config, options, opened);
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

/**
 * Adds each resource to `opened` as soon as it exists, for `buildApp` to close should a later
 * step fail; once the app is built, its onClose hooks close them.
 */
async function assembleApp(
  config: Config,
  options: BuildOptions,
  opened: (() => Promise<unknown>)[],
): Promise<App> {
  const givenRedis = options.redis;
  if (givenRedis) opened.push(() => closeRedis(givenRedis));
  const validators = createValidators();
  const app = Fastify({
    logger: loggerOptions(config, options.logStream),
    genReqId: requestId,
    requestIdHeader: false,
    // `plugins/request-log.ts` writes one line per request in place of Fastify's two.
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      disableRequestLogging: true,
    }),
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxyOption(config.trustProxy),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // PostgreSQL text cannot hold U+0000: such input is refused as invalid, never sent to the database.
  app.addHook('preValidation', rejectNulCharacters);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? validators.body : validators.text).compile(schema),
  );
  // Only JSON is accepted unless a route registers another parser (the OAuth2 form routes do).
  app.removeContentTypeParser('text/plain');

  const database =
    options.database ??
    (await openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
    }));
  opened.push(() => database.close());
  const redis = givenRedis !== undefined ? givenRedis : await openRedis(config.redisUrl);
  if (redis && givenRedis === undefined) opened.push(() => closeRedis(redis));

  app.decorate('config', config);
  const mailer = new Mailer(config.smtpUrl, config.mailFrom, app.log);
  const events = createEventRelay(app, database, redis);
  const sessionCache = new SessionCache({
    ttlMs: config.sessionCacheTtlMs,
    // Serves only while invalidations can reach every instance (see session-cache.ts).
    transport: redis
      ? redisInvalidations(redis, `${config.redisKeyPrefix}session-invalidations`)
      : config.singleInstance
        ? singleInstanceTransport
        : null,
  });
  const jobs = new JobQueue({ database, config, log: app.log });
  app.decorate(
    'services',
    createServices({
      db: database.db,
      config,
      mailer,
      events,
      jobs,
      sessionCache,
      ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
    }),
  );
  app.addHook('onClose', async () => mailer.close());
  app.decorate('lifecycle', { draining: false });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  await app.register(errorsPlugin);
  await app.register(requestLogPlugin);
  // Shared by every route and stream that shows events; the OpenAPI document names it `Event`.
  app.addSchema({ ...EventSchema, $id: EVENT_SCHEMA_ID });
  await app.register(dbPlugin, { database });
  await app.register(redisPlugin, { redis });
  if (options.migrate !== false) await database.migrate();

  await sessionCache.start();
  app.addHook('onClose', async () => sessionCache.stop());
  await app.register(authPlugin);
  // Before compression, so it stores and replays the plain response body.
  await app.register(idempotencyPlugin);
  // Registered before every route, so the OpenAPI document sees them all.
  await app.register(docsPlugin);
  await app.register(metricsPlugin);
  await app.register(eventsPlugin);
  jobs.exposeMetrics(app.metrics);
  // Registered after the database, so it runs before the database closes: running jobs
  // finish (within JOB_SHUTDOWN_TIMEOUT_MS) while they can still write.
  app.addHook('onClose', async () => jobs.stop());
  await jobs.start();
  if (config.workers) {
    const { webhookDispatcher } = app.services;
    webhookDispatcher.start();
    app.addHook('onClose', async () => webhookDispatcher.stop());
  }
  await app.register(securityPlugin);
  await app.register(rateLimitPlugin);
  // Unknown routes count against the budget too, so scanning costs the scanner.
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFoundHandler);

  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(demoRoutes);
  for (const routes of [
    authRoutes,
    usersRoutes,
    projectsRoutes,
    membersRoutes,
    tasksRoutes,
    commentsRoutes,
    activityRoutes,
    jobsRoutes,
    calendarRoutes,
    exportsRoutes,
    importsRoutes,
    webhooksRoutes,
    realtimeRoutes,
  ]) {
    await app.register(routes, { prefix: '/api/v1' });
  }
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    /** Set while the process shuts down, so readiness fails before connections close. */
    lifecycle: { draining: boolean };
  }
}
