import { nullable } from './schema-types.js';
import Type, { type Static, type TSchema } from 'typebox';
import { AppError } from './errors.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

export const PageQuerySchema = {
  limit: Type.Optional(
    Type.Integer({
      format: 'int32',
      minimum: 1,
      maximum: MAX_LIMIT,
      default: DEFAULT_LIMIT,
      description: `Items per page, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT}).`,
    }),
  ),
  cursor: Type.Optional(
    Type.String({
      maxLength: 512,
      description: 'Opaque cursor from the previous page’s `next_cursor`.',
    }),
  ),
};

/** The page size a list query asked for, or the default. */
export function pageLimit(query: { limit?: number | undefined }): number {
  return query.limit ?? DEFAULT_LIMIT;
}

export function pageSchema<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item, { maxItems: MAX_LIMIT }),
    next_cursor: nullable(Type.String({ maxLength: 512 }), {
      description: 'Pass as `cursor` to get the next page; `null` on the last page.',
    }),
  });
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type PageQuery = Static<ReturnType<typeof Type.Object<typeof PageQuerySchema>>>;

/** Cursors are opaque to clients: base64url JSON, bound to the listing (`kind`) they came from. */
export function encodeCursor(kind: string, position: unknown[]): string {
  return Buffer.from(JSON.stringify([kind, ...position])).toString('base64url');
}

export function decodeCursor(kind: string, cursor: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('invalid_cursor', 'The cursor is not one this API issued.');
  }
  if (!Array.isArray(parsed) || parsed[0] !== kind) {
    throw new AppError('invalid_cursor', 'The cursor belongs to another listing or sort order.');
  }
  return parsed.slice(1);
}

/** Fetch `limit + 1` rows; this trims the extra one and makes the cursor from the last kept row. */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
  cursorOf: (row: Row) => string,
): Page<Item> {
  const hasMore = rows.length > limit;
  const kept = hasMore ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return {
    items: kept.map(map),
    next_cursor: hasMore && last !== undefined ? cursorOf(last) : null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function cursorUuid(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new AppError('invalid_cursor', 'The cursor is not one this API issued.');
  }
  return value;
}

/**
 * One page of a list ordered by a uuid key: reads the cursor of `kind`, fetches `limit + 1`
 * rows after that key, and makes the next cursor from the last row kept.
 */
export async function pageByKey<Row, Item>(
  kind: string,
  query: PageQuery,
  fetch: (afterKey: string | null, limit: number) => Promise<Row[]>,
  map: (row: Row) => Item,
  keyOf: (row: Row) => string,
): Promise<Page<Item>> {
  const limit = pageLimit(query);
  const after = query.cursor === undefined ? null : cursorUuid(decodeCursor(kind, query.cursor)[0]);
  const rows = await fetch(after, limit);
  return toPage(rows, limit, map, (row) => encodeCursor(kind, [keyOf(row)]));
}
