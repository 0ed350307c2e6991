import { nullable } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { EmailSchema, PasswordSchema } from '../auth/auth.schemas.js';

const time = Type.String({ format: 'date-time' });
const nullableTime = nullable(time);

export const UserPublicSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  full_name: nullable(Type.String()),
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
  id: Type.String({ format: 'uuid' }),
  user_agent: nullable(Type.String()),
  ip_address: nullable(Type.String()),
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
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  scopes: Type.Array(ScopeSchema),
  expires_at: nullableTime,
  last_used_at: nullableTime,
  created_at: time,
});

export const TokenCreatedSchema = Type.Object({
  ...TokenPublicSchema.properties,
  token: Type.String({ description: 'The secret, shown this once; it is stored only as a hash.' }),
});

export const UserListQuerySchema = Type.Object(
  { ...PageQuerySchema, q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);

export const UserPageSchema = pageSchema(UserPublicSchema);
export const SessionListSchema = Type.Object({ items: Type.Array(SessionPublicSchema) });
export const TokenListSchema = Type.Object({ items: Type.Array(TokenPublicSchema) });

export type UserPublic = Static<typeof UserPublicSchema>;
export type UserUpdateMe = Static<typeof UserUpdateMeSchema>;
export type UserAdminUpdate = Static<typeof UserAdminUpdateSchema>;
export type SessionPublic = Static<typeof SessionPublicSchema>;
export type TokenCreate = Static<typeof TokenCreateSchema>;
export type TokenPublic = Static<typeof TokenPublicSchema>;
export type UserListQuery = Static<typeof UserListQuerySchema>;
