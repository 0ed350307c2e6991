import { pino } from 'pino';
import { type Config, testConfig } from '../../src/config.js';
import { type Database, type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import type { Clock } from '../../src/lib/clock.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { Mailer } from '../../src/lib/mailer.js';
import { createServices, type Services } from '../../src/services.js';
import { createTestDatabase, postgresAvailable } from './services.js';

export interface TestServicesOptions {
  config?: Partial<Config>;
  clock?: Clock;
}

export interface TestServices {
  services: Services;
  /** The same database the services use, for assertions on stored rows. */
  db: Database;
  database: DatabaseHandle;
  config: Config;
  close(): Promise<void>;
}

/**
 * The services on a migrated database of their own (a fresh Postgres database, else in-memory
 * PGlite), without HTTP: for tests of a service, or later a job handler, called directly.
 */
export async function createTestServices(options: TestServicesOptions = {}): Promise<TestServices> {
  const testDb = (await postgresAvailable()) ? await createTestDatabase() : null;
  const config = testConfig({ databaseUrl: testDb?.url ?? null, ...options.config });
  const database = await openDatabase({ url: config.databaseUrl, poolSize: 2 });
  await database.migrate();
  const log = pino({ level: 'silent' });
  const mailer = new Mailer(config.smtpUrl, config.mailFrom, log);
  // Started without workers: jobs sent by the services are stored, never run by themselves; a
  // test runs a handler directly with `services.jobs.run(queue, payload)`.
  const jobs = new JobQueue({ database, config: { ...config, workers: false }, log });
  const services = createServices({
    db: database.db,
    config,
    mailer,
    jobs,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await services.events.start();
  await jobs.start();
  return {
    services,
    db: database.db,
    database,
    config,
    async close() {
      await jobs.stop();
      await services.events.stop();
      mailer.close();
      await database.close();
      await testDb?.drop();
    },
  };
}

/** A clock that stands still until a test moves it. */
export class ManualClock implements Clock {
  constructor(private current: Date) {}

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
