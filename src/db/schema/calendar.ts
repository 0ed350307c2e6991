import { index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';
import { projects } from './tasks.js';
import { users } from './users.js';

/**
 * Read-only calendar feed tokens: one per user and project, stored as a hash. A new one replaces
 * the old; the token works only while its user is still a member of the project.
 */
export const calendarTokens = pgTable(
  'calendar_tokens',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.projectId] }),
    index('calendar_tokens_project_idx').on(table.projectId),
  ],
);

export type CalendarTokenRow = typeof calendarTokens.$inferSelect;
