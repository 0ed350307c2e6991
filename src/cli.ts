import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { pino } from 'pino';
import { JobQueue } from './jobs/job-queue.js';
import { AppError } from './lib/errors.js';
import { Mailer } from './lib/mailer.js';
import { createServices } from './services.js';

/** Operator commands, compiled with the server so the production image can run them. */
const USAGE = `usage: node dist/cli.js <command> [options]   (or: npm run cli -- <command> …)

commands:
  migrate                                  apply pending database migrations
  create-superuser --email <email> --password <password> [--name <full name>]
                                           create an administrator account
  help                                     show this text

The database comes from DATABASE_URL (or the embedded one in DATA_DIR), as for the server.`;

/** A mistake in the command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

const OPTIONS = {
  email: { type: 'string' },
  password: { type: 'string' },
  name: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Values {
  email?: string | undefined;
  password?: string | undefined;
  name?: string | undefined;
  help?: boolean | undefined;
}

function parse(argv: string[]): { command: string | undefined; values: Values; extra: string[] } {
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, ...extra] = positionals;
    return { command, values, extra };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

async function withDatabase<T>(
  config: Config,
  work: (database: DatabaseHandle) => Promise<T>,
): Promise<T> {
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 1,
  });
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

async function migrate(config: Config): Promise<void> {
  await withDatabase(config, async (database) => {
    await database.migrate();
    // Starting the queue without workers installs or upgrades pg-boss's schema.
    const jobs = new JobQueue({
      database,
      config: { ...config, workers: false },
      log: pino({ level: config.logLevel }),
    });
    await jobs.start();
    await jobs.stop();
    process.stdout.write(`migrations applied (${database.kind})\n`);
  });
}

async function createSuperuser(config: Config, values: Values): Promise<void> {
  if (!values.email) throw new UsageError('create-superuser needs --email');
  if (!values.password) throw new UsageError('create-superuser needs --password');
  const { email, password } = values;
  await withDatabase(config, async (database) => {
    await database.migrate();
    const log = pino({ level: config.logLevel });
    const mailer = new Mailer(config.smtpUrl, config.mailFrom, log);
    // Never started: creating a superuser queues no work.
    const jobs = new JobQueue({ database, config: { ...config, workers: false }, log });
    const { auth } = createServices({ db: database.db, config, mailer, jobs });
    const user = await auth.register({ email, password, full_name: values.name ?? null }, true);
    process.stdout.write(`superuser ${user.email} created (${user.id})\n`);
  });
}

function describeError(error: unknown): string {
  if (error instanceof ConfigError) return `Invalid configuration: ${error.message}`;
  if (error instanceof AppError) {
    const fields = (error.errors ?? []).map((field) => `\n  ${field.field}: ${field.message}`);
    return `${error.message}${fields.join('')}`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function main(argv: string[]): Promise<number> {
  try {
    const { command, values, extra } = parse(argv);
    if (command === 'help' || values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (command === undefined) throw new UsageError('no command given');
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra.join(' ')}`);
    const config = loadConfig();
    switch (command) {
      case 'migrate':
        await migrate(config);
        return 0;
      case 'create-superuser':
        await createSuperuser(config, values);
        return 0;
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`docket: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`docket: ${describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
