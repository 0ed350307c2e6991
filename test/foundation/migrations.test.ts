import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, resultRows } from '../../src/db/client.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';

const journal = JSON.parse(readFileSync('src/db/migrations/meta/_journal.json', 'utf8')) as {
  entries: unknown[];
};

async function appliedCount(handle: Awaited<ReturnType<typeof openDatabase>>): Promise<number> {
  const rows = await handle.db.execute<{ count: string | number }>(
    sql`select count(*) as count from drizzle.__drizzle_migrations`,
  );
  return Number(resultRows<{ count: string | number }>(rows)[0]?.count);
}

describe('migrations on PGlite', () => {
  it('when run twice, then every migration is applied exactly once', async () => {
    const handle = await openDatabase({ url: null });
    try {
      await handle.migrate();
      await handle.migrate();
      expect(await appliedCount(handle)).toBe(journal.entries.length);
    } finally {
      await handle.close();
    }
    // PGlite applies migrations in WebAssembly: slow on a busy machine, never wrong.
  }, 120_000);
});

const pgOk = await postgresAvailable();
describe.skipIf(!pgOk)('migrations on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('when three instances migrate at once, then all succeed and each migration is applied once', async () => {
    database = await createTestDatabase();
    const url = database.url;
    const handles = await Promise.all([1, 2, 3].map(() => openDatabase({ url, poolSize: 1 })));
    try {
      await Promise.all(handles.map((handle) => handle.migrate()));
      await handles[0]?.migrate();
      expect(await appliedCount(handles[0]!)).toBe(journal.entries.length);
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
    }
  });
});
