import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { type Clock, systemClock } from './lib/clock.js';
import type { JobQueue } from './jobs/job-queue.js';
import { mailHandler, mailQueue } from './jobs/mail.js';
import { maintenanceHandler, maintenanceQueue } from './jobs/maintenance.js';
import type { Mailer } from './lib/mailer.js';
import { ActivityService } from './modules/activity/activity.service.js';
import { EventRelay } from './modules/activity/event-relay.js';
import { AccessTokens } from './modules/auth/access-tokens.js';
import { AccountMailService } from './modules/auth/account-mail.service.js';
import { AuthService } from './modules/auth/auth.service.js';
import { Authenticator } from './modules/auth/authenticator.js';
import { CommentsService } from './modules/comments/comments.service.js';
import { UserJobsService } from './modules/jobs/jobs.service.js';
import { MembersService } from './modules/projects/members.service.js';
import { ProjectsService } from './modules/projects/projects.service.js';
import { RealtimeService } from './modules/realtime/realtime.service.js';
import { TasksService } from './modules/tasks/tasks.service.js';
import { UsersService } from './modules/users/users.service.js';

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
}

/** Without `events`, a relay with no hint channel is made (start it to use it). */
export type ServiceDepsInput = Omit<ServiceDeps, 'clock' | 'events'> & {
  clock?: Clock;
  events?: EventRelay;
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
  auth: AuthService;
  accountMail: AccountMailService;
  users: UsersService;
  projects: ProjectsService;
  members: MembersService;
  tasks: TasksService;
  comments: CommentsService;
  activity: ActivityService;
  /** Stream tickets and the hub that owns this instance's open SSE and WebSocket streams. */
  realtime: RealtimeService;
}

/** The composition root: every service is built here, once, and handed its dependencies. */
export function createServices({
  clock = systemClock,
  events,
  ...rest
}: ServiceDepsInput): Services {
  const deps: ServiceDeps = { ...rest, clock, events: events ?? new EventRelay({ db: rest.db }) };
  const { config } = deps;
  const accessTokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSeconds);
  const accountMail = new AccountMailService(deps);
  registerJobHandlers(deps);
  return {
    clock,
    events: deps.events,
    jobs: deps.jobs,
    userJobs: new UserJobsService(deps),
    accessTokens,
    authenticator: new Authenticator({ ...deps, accessTokens }),
    auth: new AuthService({ ...deps, accessTokens, accountMail }),
    accountMail,
    users: new UsersService({ ...deps, accountMail }),
    projects: new ProjectsService(deps),
    members: new MembersService(deps),
    tasks: new TasksService(deps),
    comments: new CommentsService(deps),
    activity: new ActivityService(deps),
    realtime: new RealtimeService(deps),
  };
}

/**
 * Every queue and the handler that runs its jobs. Registered wherever services are built, so
 * the server (with `WORKERS=true`) and `npm run worker` run the same handlers.
 */
function registerJobHandlers({ jobs, mailer, db, config, clock }: ServiceDeps): void {
  jobs.register(mailQueue, mailHandler(mailer));
  jobs.register(maintenanceQueue, maintenanceHandler({ db, config, clock }));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every service, built once by `createServices`; routes take the one they need. */
    services: Services;
  }
}
