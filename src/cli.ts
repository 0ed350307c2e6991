import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { pino } from 'pino';
import { openDatabase } from './db/client.js';
import { JobQueue } from './jobs/job-queue.js';
import { Mailer } from './lib/mailer.js';
import { createServices } from './services.js';

const USAGE =
  'usage: npm run cli -- create-superuser --email <email> --password <password> [--name <full name>]';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
});

if (positionals[0] !== 'create-superuser' || !values.email || !values.password) {
  console.error(USAGE);
  process.exit(2);
}

const config = loadConfig();
const database = await openDatabase({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  poolSize: 1,
});
try {
  await database.migrate();
  const log = pino({ level: config.logLevel });
  const mailer = new Mailer(config.smtpUrl, config.mailFrom, log);
  // Never started: creating a superuser queues no work.
  const jobs = new JobQueue({ database, config: { ...config, workers: false }, log });
  const { auth } = createServices({ db: database.db, config, mailer, jobs });
  const user = await auth.register(
    { email: values.email, password: values.password, full_name: values.name ?? null },
    true,
  );
  process.stdout.write(`superuser ${user.email} created (${user.id})\n`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await database.close();
}
