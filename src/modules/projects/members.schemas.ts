import { nullable } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { RoleSchema } from './projects.schemas.js';

export const MemberParamsSchema = Type.Object(
  { id: Type.String({ format: 'uuid' }), user_id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

export const MemberCreateSchema = Type.Object(
  {
    email: Type.String({
      format: 'email',
      maxLength: 254,
      description: 'An existing user’s email.',
    }),
    role: RoleSchema,
  },
  { additionalProperties: false },
);

export const MemberUpdateSchema = Type.Object(
  { role: RoleSchema },
  { additionalProperties: false },
);

export const MemberPublicSchema = Type.Object({
  user_id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  full_name: nullable(Type.String()),
  role: RoleSchema,
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const MemberListQuerySchema = Type.Object(PageQuerySchema, { additionalProperties: false });
export const MemberPageSchema = pageSchema(MemberPublicSchema);

export type MemberCreate = Static<typeof MemberCreateSchema>;
export type MemberPublic = Static<typeof MemberPublicSchema>;
export type MemberListQuery = Static<typeof MemberListQuerySchema>;
