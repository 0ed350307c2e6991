import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { type Clock, systemClock } from './lib/clock.js';
import type { JobQueue } from './jobs/job-queue.js';
import { exportQueue, importQueue } from './jobs/exports.js';
import { mailHandler, mailQueue } from './jobs/mail.js';
import { maintenanceHandler, maintenanceQueue } from './jobs/maintenance.js';
import {
  reminderHandler,
  reminderQueue,
  reminderSweepHandler,
  reminderSweepQueue,
} from './jobs/reminders.js';
import type { Mailer } from './lib/mailer.js';
import { packageInfo } from './lib/package-info.js';
import { ActivityService } from './modules/activity/activity.service.js';
import { EventRelay } from './modules/activity/event-relay.js';
import { AccessTokens } from './modules/auth/access-tokens.js';
import { AccountMailService } from './modules/auth/account-mail.service.js';
import { AuthService } from './modules/auth/auth.service.js';
import { Authenticator } from './modules/auth/authenticator.js';
import { SessionCache } from './modules/auth/session-cache.js';
import { CommentsService } from './modules/comments/comments.service.js';
import { ExportsService } from './modules/exports/exports.service.js';
import { ImportsService } from './modules/imports/imports.service.js';
import { UserJobsService } from './modules/jobs/jobs.service.js';
import { MembersService } from './modules/projects/members.service.js';
import { ProjectsService } from './modules/projects/projects.service.js';
import { CalendarService } from './modules/calendar/calendar.service.js';
import { RemindersService } from './modules/reminders/reminders.service.js';
import { RealtimeService } from './modules/realtime/realtime.service.js';
import { TasksService } from './modules/tasks/tasks.service.js';
import { UsersService } from './modules/users/users.service.js';
import { webhookDeliveryQueue } from './modules/webhooks/delivery.queue.js';
import { DeliveryService } from './modules/webhooks/delivery.service.js';
import { WebhookDispatcher } from './modules/webhooks/dispatcher.js';
import { type HostResolver, systemResolver } from './modules/webhooks/ssrf-guard.js';
import { WebhookSender } from './modules/webhooks/webhook-sender.js';
import { WebhooksService } from './modules/webhooks/webhooks.service.js';

/**
 * What services are built from. A service takes the subset it needs (its constructor options);
 * a new piece of infrastructure is added here and in `createServices`, and only the services
 * that use it name it in their options.
 */
export interface ServiceDeps {
  db: Database;
  config: Config;
  mailer: Mailer;
  clock: Clock;
  /** Committed events as they happen: `subscribe(projects, listener)`; its owner starts it. */
  events: EventRelay;
  /** The durable job queue; not started yet: `createServices` registers the handlers first. */
  jobs: JobQueue;
  /** Host name → addresses, for webhook targets (tests play DNS with it). */
  resolveHost: HostResolver;
  /** Session liveness for ≤ 1 s; every change that ends a session calls `invalidateUser`. */
  sessionCache: SessionCache;
}

/** Without `events`, a relay with no hint channel is made (start it to use it). */
export type ServiceDepsInput = Omit<
  ServiceDeps,
  'clock' | 'events' | 'resolveHost' | 'sessionCache'
> & {
  clock?: Clock;
  /** Without it, sessions are checked in the database on every request. */
  sessionCache?: SessionCache;
  events?: EventRelay;
  resolveHost?: HostResolver;
};

export interface Services {
  clock: Clock;
  events: EventRelay;
  /** Queue work with `jobs.send(tx, queue, payload)` in the transaction that causes it. */
  jobs: JobQueue;
  /** The jobs users follow (`GET /jobs/{id}`): create one with the work, report progress. */
  userJobs: UserJobsService;
  accessTokens: AccessTokens;
  authenticator: Authenticator;
  sessionCache: SessionCache;
  auth: AuthService;
  accountMail: AccountMailService;
  users: UsersService;
  projects: ProjectsService;
  members: MembersService;
  tasks: TasksService;
  comments: CommentsService;
  activity: ActivityService;
  reminders: RemindersService;
  calendar: CalendarService;
  exports: ExportsService;
  imports: ImportsService;
  webhooks: WebhooksService;
  /** Webhook fan-out: started where jobs run (`WORKERS`), by the server or the worker. */
  webhookDispatcher: WebhookDispatcher;
  /** Stream tickets and the hub that owns this instance's open SSE and WebSocket streams. */
  realtime: RealtimeService;
}

/** The composition root: every service is built here, once, and handed its dependencies. */
export function createServices({
  clock = systemClock,
  events,
  resolveHost = systemResolver,
  sessionCache = new SessionCache({ ttlMs: 0, transport: null }),
  ...rest
}: ServiceDepsInput): Services {
  const deps: ServiceDeps = {
    ...rest,
    clock,
    resolveHost,
    sessionCache,
    events: events ?? new EventRelay({ db: rest.db }),
  };
  const { config } = deps;
  const accessTokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSeconds);
  const accountMail = new AccountMailService(deps);
  const reminders = new RemindersService(deps);
  const userJobs = new UserJobsService(deps);
  const exports = new ExportsService({ ...deps, userJobs });
  const imports = new ImportsService({ ...deps, userJobs });
  registerJobHandlers(deps, { reminders, exports, imports });
  return {
    clock,
    events: deps.events,
    jobs: deps.jobs,
    userJobs,
    accessTokens,
    authenticator: new Authenticator({ ...deps, accessTokens }),
    sessionCache,
    auth: new AuthService({ ...deps, accessTokens, accountMail }),
    accountMail,
    users: new UsersService({ ...deps, accountMail }),
    projects: new ProjectsService(deps),
    members: new MembersService(deps),
    tasks: new TasksService({ ...deps, reminders }),
    comments: new CommentsService(deps),
    activity: new ActivityService(deps),
    reminders,
    calendar: new CalendarService(deps),
    exports,
    imports,
    webhooks: new WebhooksService({ ...deps, resolve: resolveHost }),
    webhookDispatcher: new WebhookDispatcher(deps),
    realtime: new RealtimeService(deps),
  };
}

/**
 * Every queue and the handler that runs its jobs. Registered wherever services are built, so
 * the server (with `WORKERS=true`) and `npm run worker` run the same handlers.
 */
function registerJobHandlers(
  deps: ServiceDeps,
  {
    reminders,
    exports,
    imports,
  }: { reminders: RemindersService; exports: ExportsService; imports: ImportsService },
): void {
  const { jobs, mailer, db, config, clock } = deps;
  jobs.register(mailQueue, mailHandler(mailer));
  jobs.register(maintenanceQueue, maintenanceHandler({ db, config, clock }));
  jobs.register(reminderQueue, reminderHandler(reminders));
  jobs.register(reminderSweepQueue, reminderSweepHandler(reminders));
  jobs.register(exportQueue, (payload, context) => exports.run(payload, context));
  jobs.register(importQueue, (payload, context) => imports.run(payload, context));
  const sender = new WebhookSender({
    policy: { allowPrivate: config.webhookAllowPrivate, allowedPorts: config.webhookAllowedPorts },
    timeoutMs: config.webhookTimeoutMs,
    userAgent: `Docket-Webhooks/${packageInfo.version}`,
    resolve: deps.resolveHost,
  });
  const deliveries = new DeliveryService({ ...deps, sender });
  jobs.register(webhookDeliveryQueue, (payload, context) => deliveries.run(payload, context));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every service, built once by `createServices`; routes take the one they need. */
    services: Services;
  }
}
