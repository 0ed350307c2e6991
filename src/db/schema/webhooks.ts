import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  pgTable,
  smallint,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { timestamps, timestamptz } from './columns.js';
import { projects } from './tasks.js';
import { users } from './users.js';

const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

/** A project's webhook subscriptions. The secret is kept to sign with; the API shows it once. */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** Event types or prefixes (`task.*`, `*`). */
    events: text('events').array().notNull(),
    description: text('description').notNull().default(''),
    enabled: boolean('enabled').notNull().default(true),
    /** Why the server turned it off (`gone`, `failing`); null when a user did or it is on. */
    disabledReason: text('disabled_reason'),
    secret: text('secret').notNull(),
    /** The secret before the last rotation, still signed with until it expires. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamptz('previous_secret_expires_at'),
    /** The first failure since the last success; null while deliveries succeed. */
    failingSince: timestamptz('failing_since'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    version: integer('version').notNull().default(1),
    ...timestamps,
  },
  (table) => [index('webhooks_project_idx').on(table.projectId, table.id)],
);

/** One row per delivery attempt: the log users read, kept 30 days. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    /** 1 for the first attempt of a delivery, then 2, 3, … */
    attempt: integer('attempt').notNull(),
    statusCode: integer('status_code'),
    durationMs: integer('duration_ms'),
    error: text('error'),
    succeeded: boolean('succeeded').notNull(),
    nextRetryAt: timestamptz('next_retry_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [
    // The log, newest first (ids are time-ordered).
    index('webhook_deliveries_webhook_idx').on(table.webhookId, table.id),
    index('webhook_deliveries_created_idx').on(table.createdAt),
  ],
);

/**
 * Where webhook fan-out has read the event log up to: one row, locked by the one instance
 * that advances it, moved in the transaction that enqueues the deliveries.
 */
export const webhookCursor = pgTable(
  'webhook_cursor',
  {
    id: smallint('id').primaryKey().default(1),
    txid: xid8('txid').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (table) => [check('webhook_cursor_one_row', sql`${table.id} = 1`)],
);

export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
