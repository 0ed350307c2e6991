import { nullable } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';

export const CommentBodySchema = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 10_000, description: '1–10 000 characters.' }) },
  { additionalProperties: false },
);

export const CommentPublicSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  task_id: Type.String({ format: 'uuid' }),
  author_id: nullable(Type.String({ format: 'uuid' })),
  body: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  version: Type.Integer(),
});

export const CommentListQuerySchema = Type.Object(PageQuerySchema, { additionalProperties: false });
export const CommentPageSchema = pageSchema(CommentPublicSchema);

export type CommentPublic = Static<typeof CommentPublicSchema>;
export type CommentListQuery = Static<typeof CommentListQuerySchema>;
