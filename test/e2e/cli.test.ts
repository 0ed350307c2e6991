import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, resultRows } from '../../src/db/client.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';

/**
 * The operator commands as the production image runs them: compiled, from dist/, with no
 * TypeScript tooling. The build runs first so the test exercises the source as it is now.
 */
const run = promisify(execFile);
const journal = JSON.parse(readFileSync('src/db/migrations/meta/_journal.json', 'utf8')) as {
  entries: unknown[];
};

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

let env: Record<string, string>;
let testDb: TestDatabase | null = null;
let dataDir: string;

async function cli(...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function query<T>(statement: ReturnType<typeof sql>): Promise<T[]> {
  const database = await openDatabase({ url: testDb?.url ?? null, dataDir, poolSize: 1 });
  try {
    return resultRows<T>(await database.db.execute(statement));
  } finally {
    await database.close();
  }
}

beforeAll(async () => {
  await run('npm', ['run', 'build'], { env: { ...process.env } });
  testDb = (await postgresAvailable()) ? await createTestDatabase() : null;
  dataDir = mkdtempSync(join(tmpdir(), 'docket-cli-'));
  env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ...(testDb ? { DATABASE_URL: testDb.url } : {}),
  };
}, 180_000);

afterAll(async () => {
  await testDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('node dist/cli.js on a fresh database', () => {
  it('when migrate runs, then every migration is applied, and running it again is harmless', async () => {
    const first = await cli('migrate');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^migrations applied \((postgres|pglite)\)$/m);
    const again = await cli('migrate');
    expect(again.code, again.stderr).toBe(0);
    const [row] = await query<{ n: number | string }>(
      sql`select count(*) as n from drizzle.__drizzle_migrations`,
    );
    expect(Number(row?.n)).toBe(journal.entries.length);
  });

  it('when create-superuser is given an email and password, then that superuser exists', async () => {
    const created = await cli(
      'create-superuser',
      '--email',
      'Admin@Example.com',
      '--password',
      'cli superuser passphrase',
      '--name',
      'Ada Admin',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('superuser admin@example.com created');
    const rows = await query<{ is_superuser: boolean; full_name: string }>(
      sql`select is_superuser, full_name from users where email = 'admin@example.com'`,
    );
    expect(rows).toEqual([{ is_superuser: true, full_name: 'Ada Admin' }]);

    const taken = await cli(
      'create-superuser',
      '--email',
      'admin@example.com',
      '--password',
      'x'.repeat(12) + ' another',
    );
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('already exists');
  });

  it('when the password is too weak, then it says why and exits 1', async () => {
    const weak = await cli(
      'create-superuser',
      '--email',
      'weak@example.com',
      '--password',
      'short',
    );
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/password/i);
    expect(weak.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [[], 'no command given'],
    [['frobnicate'], 'unknown command: frobnicate'],
    [['create-superuser', '--email', 'a@example.com'], 'create-superuser needs --password'],
    [['create-superuser', '--emial', 'a@example.com'], "Unknown option '--emial'"],
    [['migrate', 'now'], 'unexpected argument: now'],
  ])(
    'when called with %j, then it names the mistake, shows usage and exits 2',
    async (args, message) => {
      const outcome = await cli(...args);
      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain(message);
      expect(outcome.stderr).toContain('usage: node dist/cli.js');
      expect(outcome.stderr).not.toMatch(/\n\s+at /);
    },
  );

  it('when help is asked for, then usage goes to stdout and it exits 0', async () => {
    const help = await cli('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('create-superuser --email');
  });

  it('when the configuration is invalid, then it names the variable and exits 1', async () => {
    const bad = await run(process.execPath, ['dist/cli.js', 'migrate'], {
      env: { ...env, DATABASE_URL: 'mysql://nope' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Invalid configuration: DATABASE_URL');
  });
});
