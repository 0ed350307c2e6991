import pino from 'pino';
import { loadConfig } from '../config.js';
import { JobQueue } from '../jobs/job-queue.js';
import { openDatabase } from './client.js';

const config = loadConfig();
const database = await openDatabase({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  poolSize: 1,
});
try {
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
} finally {
  await database.close();
}
