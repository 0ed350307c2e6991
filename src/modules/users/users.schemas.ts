import { nullable, TimestampSchema, UuidSchema } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { EmailSchema, PasswordSchema } from '../auth/auth.schemas.js';

const time = TimestampSchema;
const nullableTime = nullable(time);

export const UserPublicSchema = Type.Object({
  id: UuidSchema,
  email: Type.String({ maxLength: 254 }),
  full_name: nullable(Type.String({ maxLength: 200 })),
  is_active: Type.Boolean(),
  is_superuser: Type.Boolean(),
  email_verified_at: nullableTime,
  created_at: time,
  updated_at: time,
});

export const UserUpdateMeSchema = Type.Object(
  {
    full_name: Type.Optional(nullable(Type.String({ maxLength: 200 }))),
    email: Type.Optional(EmailSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const UserAdminUpdateSchema = Type.Object(
  { is_active: Type.Optional(Type.Boolean()), is_superuser: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const PasswordChangeSchema = Type.Object(
  { current_password: Type.String({ maxLength: 1024 }), new_password: PasswordSchema },
  { additionalProperties: false },
);

export const SessionPublicSchema = Type.Object({
  id: UuidSchema,
  user_agent: nullable(Type.String({ maxLength: 500, description: 'The first 500 characters.' })),
  ip_address: nullable(Type.String({ maxLength: 45 })),
  created_at: time,
  last_used_at: time,
  expires_at: time,
  current: Type.Boolean({ description: 'The session of the token making this request.' }),
});

const ScopeSchema = Type.Union([Type.Literal('read'), Type.Literal('write')]);

export const TokenCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(ScopeSchema, {
      minItems: 1,
      maxItems: 2,
      uniqueItems: true,
      description: '`read` allows safe methods only; `write` also allows changes.',
    }),
    expires_at: Type.Optional(nullable(time)),
  },
  { additionalProperties: false },
);

export const TokenPublicSchema = Type.Object({
  id: UuidSchema,
  name: Type.String({ maxLength: 100 }),
  scopes: Type.Array(ScopeSchema, { maxItems: 2 }),
  expires_at: nullableTime,
  last_used_at: nullableTime,
  created_at: time,
});

export const TokenCreatedSchema = Type.Object({
  ...TokenPublicSchema.properties,
  token: Type.String({
    maxLength: 100,
    description: 'The secret, shown this once; it is stored only as a hash.',
  }),
});

export const UserListQuerySchema = Type.Object(
  { ...PageQuerySchema, q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);

export const UserPageSchema = pageSchema(UserPublicSchema);
// The lists are not paginated; their length is capped where they are written.
export const SessionListSchema = Type.Object({
  items: Type.Array(SessionPublicSchema, { maxItems: 10_000 }),
});
export const TokenListSchema = Type.Object({
  items: Type.Array(TokenPublicSchema, { maxItems: 10_000 }),
});

export type UserPublic = Static<typeof UserPublicSchema>;
export type UserUpdateMe = Static<typeof UserUpdateMeSchema>;
export type UserAdminUpdate = Static<typeof UserAdminUpdateSchema>;
export type SessionPublic = Static<typeof SessionPublicSchema>;
export type TokenCreate = Static<typeof TokenCreateSchema>;
export type TokenPublic = Static<typeof TokenPublicSchema>;
export type UserListQuery = Static<typeof UserListQuerySchema>;
