import { nullable, TimestampSchema, UuidSchema, VersionSchema } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';

export const CommentBodySchema = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 10_000, description: '1–10 000 characters.' }) },
  { additionalProperties: false },
);

export const CommentPublicSchema = Type.Object({
  id: UuidSchema,
  task_id: UuidSchema,
  author_id: nullable(UuidSchema),
  body: Type.String({ maxLength: 10_000 }),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
  version: VersionSchema,
});

export const CommentListQuerySchema = Type.Object(PageQuerySchema, { additionalProperties: false });
export const CommentPageSchema = pageSchema(CommentPublicSchema);

export type CommentPublic = Static<typeof CommentPublicSchema>;
export type CommentListQuery = Static<typeof CommentListQuerySchema>;
