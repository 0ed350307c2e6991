import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../../lib/errors.js';
import { ProblemSchema } from '../../lib/route-docs.js';
import { UserPublicSchema } from '../users/users.schemas.js';
import { toUserPublic } from '../users/users.service.js';
import {
  PasswordRecoverySchema,
  PasswordResetSchema,
  VerifyEmailSchema,
  OAuthErrorSchema,
  RegisterSchema,
  RevokeRequestSchema,
  TokenRequestSchema,
  TokenResponseSchema,
} from './auth.schemas.js';

const MAX_FIELD = 4096;

/** Emails are normalised before validation, so surrounding spaces are forgiven, not refused. */
export async function trimEmail(request: FastifyRequest): Promise<void> {
  const body = request.body as { email?: unknown } | null | undefined;
  if (body && typeof body.email === 'string') body.email = body.email.trim();
}

function oauthError(reply: FastifyReply, error: string, description: string): FastifyReply {
  return reply
    .code(400)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send({ error, error_description: description });
}

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { auth, accountMail } = app.services;
  app.addHook('onReady', () => auth.ensureFirstSuperuser());
  await app.register(formbody, { bodyLimit: 16 * 1024 });

  const tags = ['auth'];
  const strict = { rateLimit: { max: app.config.authRateLimitMax, timeWindow: 60_000 } };

  app.post(
    '/auth/register',
    {
      config: strict,
      preValidation: trimEmail,
      schema: {
        tags,
        summary: 'Create an account',
        description:
          'The email is normalised (trimmed, lower case); a taken one is 409. Can be disabled with ' +
          '`REGISTRATION_ENABLED=false` (403).',
        body: RegisterSchema,
        response: {
          201: UserPublicSchema,
          403: ProblemSchema,
          409: ProblemSchema,
          422: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      if (!app.config.registrationEnabled) {
        throw new AppError('registration_disabled', 'Registration is disabled on this server.');
      }
      const user = await auth.register(request.body);
      await accountMail.sendVerification(user);
      return reply.code(201).send(toUserPublic(user));
    },
  );

  app.post(
    '/auth/token',
    {
      config: strict,
      attachValidation: true,
      schema: {
        tags,
        summary: 'Get tokens (OAuth2)',
        description:
          'Form-encoded, per RFC 6749. `grant_type=password` with `username` (the email) and `password` ' +
          'starts a session; `grant_type=refresh_token` rotates the refresh token. Errors use the RFC 6749 ' +
          'shape. Unknown email, wrong password, locked and inactive accounts get the same answer.',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenRequestSchema,
        response: { 200: TokenResponseSchema, 400: OAuthErrorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body as Partial<Record<string, unknown>> | undefined;
      const field = (name: string): string | undefined => {
        const value = body?.[name];
        return typeof value === 'string' && value.length > 0 && value.length <= MAX_FIELD
          ? value
          : undefined;
      };
      const grant = field('grant_type');
      if (grant === undefined)
        return oauthError(reply, 'invalid_request', 'grant_type is required.');
      let tokens;
      if (grant === 'password') {
        const username = field('username');
        const password = field('password');
        if (username === undefined || password === undefined) {
          return oauthError(reply, 'invalid_request', 'username and password are required.');
        }
        tokens = await auth.passwordGrant(username, password, {
          userAgent: request.headers['user-agent'] ?? null,
          ipAddress: request.ip,
        });
        if (tokens === null)
          return oauthError(reply, 'invalid_grant', 'The email or password is wrong.');
      } else if (grant === 'refresh_token') {
        const refreshToken = field('refresh_token');
        if (refreshToken === undefined)
          return oauthError(reply, 'invalid_request', 'refresh_token is required.');
        tokens = await auth.refreshGrant(refreshToken);
        if (tokens === null) {
          return oauthError(
            reply,
            'invalid_grant',
            'The refresh token is invalid, expired or revoked.',
          );
        }
      } else {
        return oauthError(reply, 'unsupported_grant_type', 'Use password or refresh_token.');
      }
      return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(tokens);
    },
  );

  app.post(
    '/auth/revoke',
    {
      config: strict,
      attachValidation: true,
      schema: {
        tags,
        summary: 'Revoke a token (RFC 7009)',
        description:
          'Form-encoded `token=`: a refresh token ends its session; a personal access token is revoked. ' +
          'Answers 200 for unknown tokens too.',
        consumes: ['application/x-www-form-urlencoded'],
        body: RevokeRequestSchema,
        response: { 200: Type.Object({}), 400: OAuthErrorSchema },
      },
    },
    async (request, reply) => {
      const token = (request.body as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string' || token.length === 0) {
        return oauthError(reply, 'invalid_request', 'token is required.');
      }
      if (token.length <= MAX_FIELD) await auth.revoke(token);
      return reply.header('cache-control', 'no-store').send({});
    },
  );

  app.post(
    '/auth/password-recovery',
    {
      config: strict,
      preValidation: trimEmail,
      schema: {
        tags,
        summary: 'Ask for a password reset mail',
        description:
          'Answers 202 whether or not the address has an account. The mail holds a single-use link valid for one hour.',
        body: PasswordRecoverySchema,
        response: { 202: Type.Object({}), 422: ProblemSchema },
      },
    },
    async (request, reply) => {
      await accountMail.requestPasswordReset(request.body.email);
      return reply.code(202).send({});
    },
  );

  app.post(
    '/auth/password-reset',
    {
      config: strict,
      schema: {
        tags,
        summary: 'Reset a password',
        description:
          'With the token from the recovery mail. Ends every session of the account and lifts a lock-out.',
        body: PasswordResetSchema,
        response: { 204: Type.Null(), 422: ProblemSchema },
      },
    },
    async (request, reply) => {
      await accountMail.resetPassword(request.body.token, request.body.new_password);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/verify-email',
    {
      config: strict,
      schema: {
        tags,
        summary: 'Confirm an email address',
        description:
          'With the token from the verification mail sent on registration and on an email change.',
        body: VerifyEmailSchema,
        response: { 204: Type.Null(), 422: ProblemSchema },
      },
    },
    async (request, reply) => {
      await accountMail.verifyEmail(request.body.token);
      return reply.code(204).send(null);
    },
  );
};
