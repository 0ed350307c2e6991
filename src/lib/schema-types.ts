import Type, { type Static, type TSchema } from 'typebox';

/**
 * `T | null` as one JSON Schema type list (`type: ["string", "null"]`) rather than an anyOf:
 * the serialiser then writes it with a null check instead of validating each branch, which
 * matters on list pages with several nullable fields per row.
 */
export function nullable<T extends TSchema & { type: string }>(
  schema: T,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [schema.type, 'null'] });
}

/*
 * Bounded primitives shared by requests and answers: every string, array and integer in the
 * contract has a documented limit, so clients and linters know the largest value to expect.
 */
export const UuidSchema = Type.String({ format: 'uuid', maxLength: 36 });
/**
 * The earliest and latest instants a time may be: what a JavaScript Date, PostgreSQL and an
 * RFC 3339 answer all hold, and what the database reads back as it was written (it reads a
 * year below 100 as 19xx or 20xx).
 */
export const EARLIEST_TIME = Date.parse('1000-01-01T00:00:00.000Z');
export const LATEST_TIME = Date.parse('9999-12-31T23:59:59.999Z');
/** RFC 3339, e.g. `2026-11-23T21:00:00.000Z`. */
export const TimestampSchema = Type.String({ format: 'date-time', maxLength: 40 });
/** The row version behind a strong `ETag`; it grows by one on every change. */
export const VersionSchema = Type.Integer({ format: 'int32', minimum: 1, maximum: 2_147_483_647 });
