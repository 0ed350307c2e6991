import { nullable, TimestampSchema, UuidSchema } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { RoleSchema } from './projects.schemas.js';

export const MemberParamsSchema = Type.Object(
  { id: UuidSchema, user_id: UuidSchema },
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
  user_id: UuidSchema,
  email: Type.String({ maxLength: 254 }),
  full_name: nullable(Type.String({ maxLength: 200 })),
  role: RoleSchema,
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
});

export const MemberListQuerySchema = Type.Object(PageQuerySchema, { additionalProperties: false });
export const MemberPageSchema = pageSchema(MemberPublicSchema);

export type MemberCreate = Static<typeof MemberCreateSchema>;
export type MemberPublic = Static<typeof MemberPublicSchema>;
export type MemberListQuery = Static<typeof MemberListQuerySchema>;
