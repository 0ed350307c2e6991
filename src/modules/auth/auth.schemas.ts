import { nullable } from '../../lib/schema-types.js';
import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN } from './passwords.js';

export const EmailSchema = Type.String({ format: 'email', maxLength: 254 });
export const PasswordSchema = Type.String({
  minLength: PASSWORD_MIN,
  maxLength: PASSWORD_MAX,
  description: `${PASSWORD_MIN}–${PASSWORD_MAX} characters; the most common passwords are refused.`,
});

export const RegisterSchema = Type.Object(
  {
    email: EmailSchema,
    password: PasswordSchema,
    full_name: Type.Optional(nullable(Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);

export const TokenRequestSchema = Type.Object(
  {
    grant_type: Type.String({ description: '`password` or `refresh_token`.' }),
    username: Type.Optional(Type.String({ description: 'The email address (password grant).' })),
    password: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    client_secret: Type.Optional(Type.String()),
  },
  { description: 'application/x-www-form-urlencoded, as RFC 6749 requires.' },
);

export const TokenResponseSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
  refresh_token: Type.String({ description: 'Single use: each refresh returns a new one.' }),
  scope: Type.String(),
});

export const OAuthErrorSchema = Type.Object(
  { error: Type.String(), error_description: Type.String() },
  { description: 'RFC 6749 §5.2 error.' },
);

export const RevokeRequestSchema = Type.Object({
  token: Type.Optional(Type.String()),
  token_type_hint: Type.Optional(Type.String()),
});

const ActionToken = Type.String({ minLength: 1, maxLength: 200 });

export const PasswordRecoverySchema = Type.Object(
  { email: EmailSchema },
  { additionalProperties: false },
);
export const PasswordResetSchema = Type.Object(
  { token: ActionToken, new_password: PasswordSchema },
  { additionalProperties: false },
);
export const VerifyEmailSchema = Type.Object(
  { token: ActionToken },
  { additionalProperties: false },
);
