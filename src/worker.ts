import pino from 'pino';
import { loggerOptions } from './app.js';
import { ConfigError, type Config, loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { JobQueue } from './jobs/job-queue.js';
import { Mailer } from './lib/mailer.js';
import { createServices } from './services.js';

/**
 * `npm run worker`: runs the background jobs and serves no HTTP, beside instances started
 * with `WORKERS=false`. Any number of workers may run against one PostgreSQL database; each
 * job runs once.
 */
function readConfig(): Config {
  try {
    const config = loadConfig();
    if (config.databaseUrl === null) {
      throw new ConfigError(
        'DATABASE_URL',
        'is required: the embedded database belongs to the server process, which runs the jobs itself',
      );
    }
    return { ...config, workers: true };
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

const config = readConfig();
const options = loggerOptions(config);
const log = pino(typeof options === 'object' ? options : { level: config.logLevel });
const database = await openDatabase({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  poolSize: config.databasePoolSize,
});
const mailer = new Mailer(config.smtpUrl, config.mailFrom, log);
const jobs = new JobQueue({ database, config, log });
// The same composition root as the server: the queue's handlers are registered with the services.
const services = createServices({ db: database.db, config, mailer, jobs });

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'worker shutting down');
  const deadline = setTimeout(() => {
    log.error('shutdown timed out; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs);
  deadline.unref();
  try {
    // Running jobs get JOB_SHUTDOWN_TIMEOUT_MS to finish; the rest run again after a restart.
    await services.webhookDispatcher.stop();
    await jobs.stop();
    mailer.close();
    await database.close();
    process.exit(0);
  } catch (error) {
    log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, (received) => void shutdown(received));
}

try {
  await database.migrate();
  await jobs.start();
  // No event relay runs here: webhook fan-out polls the log (every second).
  services.webhookDispatcher.start();
  log.info('worker started');
} catch (error) {
  log.error({ err: error }, 'worker could not start');
  await jobs.stop().catch(() => undefined);
  await database.close().catch(() => undefined);
  process.exit(1);
}
