import { foreignKey, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';
import { projectMembers } from './tasks.js';

/**
 * Read-only calendar feed tokens: one per user and project, stored as a hash. A new one replaces
 * the old. It belongs to the membership: when the user leaves the project (or either is deleted)
 * the token goes too, so being added again later does not revive it.
 */
export const calendarTokens = pgTable(
  'calendar_tokens',
  {
    userId: uuid('user_id').notNull(),
    projectId: uuid('project_id').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.projectId] }),
    foreignKey({
      name: 'calendar_tokens_membership_fk',
      columns: [table.projectId, table.userId],
      foreignColumns: [projectMembers.projectId, projectMembers.userId],
    }).onDelete('cascade'),
  ],
);

export type CalendarTokenRow = typeof calendarTokens.$inferSelect;
