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
