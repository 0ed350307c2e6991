import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { AccessTokens } from './modules/auth/access-tokens.js';
import { AuthService } from './modules/auth/auth.service.js';

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
  const auth = new AuthService(
    database.db,
    config,
    new AccessTokens(config.jwtSecret, config.accessTokenTtlSeconds),
  );
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
