import { index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';
import { users } from './users.js';

/**
 * Single-use tickets that let a browser open a stream (EventSource and WebSocket cannot send
 * `Authorization`). Stored hashed, so any instance can redeem one; the credential it was made
 * with is kept, so the stream ends when that session or token ends.
 */
export const realtimeTickets = pgTable(
  'realtime_tickets',
  {
    /** SHA-256 of the ticket; the ticket itself is never stored. */
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id'),
    tokenId: uuid('token_id'),
    /** When the access token the ticket was made with expires; `null` for one that does not. */
    credentialExpiresAt: timestamptz('credential_expires_at'),
    expiresAt: timestamptz('expires_at').notNull(),
    usedAt: timestamptz('used_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [index('realtime_tickets_expires_idx').on(table.expiresAt)],
);

export type RealtimeTicketRow = typeof realtimeTickets.$inferSelect;
