import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { installCommitSignal } from './commit-signal.js';
import { retryingReads } from './read-retry.js';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction, or the database itself where no transaction is needed. */
export type Executor = Parameters<Parameters<Database['transaction']>[0]>[0] | Database;

/** The rows of a raw `db.execute()`: postgres-js returns an array, PGlite `{ rows }`. */
export function resultRows<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows?: T[] }).rows ?? []);
}

/** PostgreSQL `LISTEN`/`NOTIFY`, on a connection of its own that reconnects by itself. */
export interface Notifications {
  /** Calls `onNotify` for each notification on `channel`; resolves to the way to stop. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  notify(channel: string): Promise<void>;
}

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: 'pglite' | 'postgres';
  /** On a PostgreSQL server; PGlite lives in one process, which needs none. */
  readonly notifications: Notifications | null;
  /** The embedded instance, for components that share its single connection (the job queue). */
  readonly pglite: PGlite | null;
  /** The PostgreSQL URL, for components that keep connections of their own (the job queue). */
  readonly url: string | null;
  ping(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL; `null` opens the embedded PGlite database. */
  url: string | null;
  /** Where PGlite keeps its files; `undefined` keeps them in memory. */
  dataDir?: string | undefined;
  poolSize?: number;
}

// Beside this module: src/db/migrations, or dist/migrations in the bundle (scripts/build.mjs).
const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));
// Any constant works; it only has to be the same for every instance of Docket.
const MIGRATION_LOCK_ID = 7_219_650_431;

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.url === null
    ? openPglite(options.dataDir)
    : openPostgres(options.url, options.poolSize ?? 10);
}

/**
 * The embedded database's modules load only when it is opened: a server on PostgreSQL never
 * holds them in memory.
 */
async function openPglite(dataDir: string | undefined): Promise<DatabaseHandle> {
  const [{ PGlite }, { btree_gin }, { drizzle: drizzlePglite }, { migrate: migratePglite }] =
    await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite/contrib/btree_gin'),
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
    ]);
  const client = await PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir: join(dataDir, 'pgdata') }),
    extensions: { btree_gin },
  });
  const db = drizzlePglite({ client, schema });
  installCommitSignal(db);
  return {
    db,
    kind: 'pglite',
    notifications: null,
    pglite: client,
    url: null,
    async ping() {
      await db.execute(sql`select 1`);
    },
    // One process owns a PGlite data folder, so no lock is needed.
    migrate: () => migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    close: () => client.close(),
  };
}

function openPostgres(url: string, poolSize: number): DatabaseHandle {
  const client = postgres(url, {
    max: poolSize,
    idle_timeout: 30,
    connect_timeout: 10,
    // A query waits for its connection's reconnect delay: the driver's default grows to 20 s
    // after a few refused attempts, which would hold requests long after the server is back.
    backoff: reconnectDelaySeconds,
    onnotice: () => undefined,
  });
  const reads = retryingReads(client);
  const db = drizzlePostgres({ client: reads, schema });
  installCommitSignal(db);
  return {
    db,
    kind: 'postgres',
    notifications: {
      async listen(channel, onNotify) {
        const listening = await client.listen(channel, () => onNotify());
        return () => listening.unlisten();
      },
      async notify(channel) {
        await client.notify(channel, '');
      },
    },
    pglite: null,
    url,
    async ping() {
      // Retried like any read, so one connection lost a moment ago does not fail readiness.
      await reads.unsafe('select 1');
    },
    migrate: () => migratePostgresLocked(url),
    close: () => client.end({ timeout: 5 }),
  };
}

const MAX_RECONNECT_DELAY_SECONDS = 1;

/** Doubles from 50 ms up to 1 s, with jitter so the connections of a pool do not move together. */
function reconnectDelaySeconds(attempt: number): number {
  return Math.min(0.05 * 2 ** attempt, MAX_RECONNECT_DELAY_SECONDS) * (0.5 + Math.random() / 2);
}

/** Runs pending migrations under a session advisory lock, so instances starting together take turns. */
async function migratePostgresLocked(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migratePostgres(drizzlePostgres({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.catch(() => undefined);
    await client.end({ timeout: 5 });
  }
}

/**
 * Runs SQL text already compiled (with its parameters) on the driver itself, skipping the ORM's
 * query building and row mapping: for hot read paths whose text is compiled once. Rows come as
 * the driver reads them. By default the statement is planned for its parameters each time, as
 * the ORM's own queries are; `prepare` keeps it as a named statement per connection, so
 * PostgreSQL may reuse one plan for every set of values (only where no value changes which plan
 * is best).
 */
export async function rawQuery<T>(
  db: Database,
  text: string,
  params: unknown[],
  { prepare = false }: { prepare?: boolean } = {},
): Promise<T[]> {
  const client = (db as unknown as { $client: PGlite | postgres.Sql }).$client;
  if (!('unsafe' in client)) return (await client.query<T>(text, params)).rows;
  const rows = await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare });
  return rows as unknown as T[];
}
