import { nullable } from '../../lib/schema-types.js';
import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN } from './passwords.js';

/** Longer values of the form fields are refused, as RFC 6749 leaves limits to the server. */
export const OAUTH_FIELD_MAX = 4096;

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
    grant_type: Type.String({ maxLength: 50, description: '`password` or `refresh_token`.' }),
    username: Type.Optional(
      Type.String({ maxLength: 254, description: 'The email address (password grant).' }),
    ),
    password: Type.Optional(Type.String({ maxLength: PASSWORD_MAX })),
    refresh_token: Type.Optional(Type.String({ maxLength: OAUTH_FIELD_MAX })),
    scope: Type.Optional(Type.String({ maxLength: 200, description: 'Ignored.' })),
    client_id: Type.Optional(Type.String({ maxLength: 200, description: 'Ignored.' })),
    client_secret: Type.Optional(Type.String({ maxLength: 200, description: 'Ignored.' })),
  },
  { description: 'application/x-www-form-urlencoded, as RFC 6749 requires.' },
);

export const TokenResponseSchema = Type.Object({
  access_token: Type.String({ maxLength: OAUTH_FIELD_MAX }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({
    format: 'int32',
    minimum: 1,
    maximum: 86_400,
    description: 'Seconds until the access token expires.',
  }),
  refresh_token: Type.String({
    maxLength: OAUTH_FIELD_MAX,
    description: 'Single use: each refresh returns a new one.',
  }),
  scope: Type.String({ maxLength: 200 }),
});

export const OAuthErrorSchema = Type.Object(
  {
    error: Type.Union(
      [
        Type.Literal('invalid_request'),
        Type.Literal('invalid_grant'),
        Type.Literal('unsupported_grant_type'),
        Type.Literal('temporarily_unavailable'),
        Type.Literal('server_error'),
      ],
      { description: 'RFC 6749 error code.' },
    ),
    error_description: Type.String({ maxLength: 1000 }),
  },
  { description: 'RFC 6749 §5.2 error.' },
);

export const RevokeRequestSchema = Type.Object({
  token: Type.Optional(Type.String({ maxLength: OAUTH_FIELD_MAX })),
  token_type_hint: Type.Optional(Type.String({ maxLength: 50, description: 'Ignored.' })),
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
