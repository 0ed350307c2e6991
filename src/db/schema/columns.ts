import { timestamp } from 'drizzle-orm/pg-core';

/** Every time is a timestamptz with millisecond precision, as the API reports it. */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export const timestamps = {
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
};
