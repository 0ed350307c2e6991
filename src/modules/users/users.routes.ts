import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { authenticated, errorResponses, ProblemSchema } from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import { AccountMailService } from '../auth/account-mail.service.js';
import { trimEmail } from '../auth/auth.routes.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import {
  PasswordChangeSchema,
  SessionListSchema,
  TokenCreatedSchema,
  TokenCreateSchema,
  TokenListSchema,
  UserAdminUpdateSchema,
  UserListQuerySchema,
  UserPageSchema,
  UserPublicSchema,
  UserUpdateMeSchema,
} from './users.schemas.js';
import { toUserPublic, UsersService } from './users.service.js';

export const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const users = new UsersService(app.db, new AccountMailService(app.db, app.config, app.mailer));
  const tags = ['users'];
  const base = { onRequest: [app.authenticate] };

  app.get(
    '/users/me',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Your profile',
        response: { 200: UserPublicSchema, ...errorResponses },
      },
    },
    async (request) => toUserPublic(await users.me(currentAuth(request))),
  );

  app.patch(
    '/users/me',
    {
      ...base,
      preValidation: trimEmail,
      schema: {
        tags,
        ...authenticated,
        summary: 'Change your profile',
        description: 'A new email is normalised and must be free (409); it is then unverified.',
        body: UserUpdateMeSchema,
        response: { 200: UserPublicSchema, ...errorResponses, 409: ProblemSchema },
      },
    },
    async (request) => toUserPublic(await users.updateMe(currentAuth(request), request.body)),
  );

  app.delete(
    '/users/me',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Delete your account',
        description:
          'Refused (409 `sole_owner`) while you are the only owner of a project that has other members.',
        response: { 204: Type.Null(), ...errorResponses, 409: ProblemSchema },
      },
    },
    async (request, reply) => {
      await users.deleteMe(currentAuth(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/users/me/password',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Change your password',
        description: 'Ends every other session of yours.',
        body: PasswordChangeSchema,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await users.changePassword(
        currentAuth(request),
        request.body.current_password,
        request.body.new_password,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users/me/sessions',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Your sessions',
        description: 'Live logins (refresh-token families), most recently used first.',
        response: { 200: SessionListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await users.sessions(currentAuth(request)) }),
  );

  app.delete(
    '/users/me/sessions/:id',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'End a session',
        description: 'Its refresh token and access tokens stop working at once.',
        params: IdParamsSchema,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await users.endSession(currentAuth(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users/me/tokens',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Your personal access tokens',
        response: { 200: TokenListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await users.tokens(currentAuth(request)) }),
  );

  app.post(
    '/users/me/tokens',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Create a personal access token',
        description:
          'The `dkt_…` secret is in this answer only; it is stored as a hash. Use it as a bearer token. ' +
          '`read` tokens may only use safe methods.',
        body: TokenCreateSchema,
        response: { 201: TokenCreatedSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const token = await users.createToken(currentAuth(request), request.body);
      return reply.code(201).header('cache-control', 'no-store').send(token);
    },
  );

  app.delete(
    '/users/me/tokens/:id',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Revoke a personal access token',
        params: IdParamsSchema,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await users.revokeToken(currentAuth(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'List users (superuser)',
        description: '`q` matches email or name.',
        querystring: UserListQuerySchema,
        response: { 200: UserPageSchema, ...errorResponses, 400: ProblemSchema },
      },
    },
    async (request) => users.list(currentAuth(request), request.query),
  );

  app.get(
    '/users/:id',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Get a user (superuser)',
        params: IdParamsSchema,
        response: { 200: UserPublicSchema, ...errorResponses },
      },
    },
    async (request) => toUserPublic(await users.get(currentAuth(request), request.params.id)),
  );

  app.patch(
    '/users/:id',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Change a user (superuser)',
        description: 'Deactivating a user ends all of its sessions at once.',
        params: IdParamsSchema,
        body: UserAdminUpdateSchema,
        response: { 200: UserPublicSchema, ...errorResponses },
      },
    },
    async (request) =>
      toUserPublic(await users.adminUpdate(currentAuth(request), request.params.id, request.body)),
  );

  app.delete(
    '/users/:id',
    {
      ...base,
      schema: {
        tags,
        ...authenticated,
        summary: 'Delete a user (superuser)',
        params: IdParamsSchema,
        response: { 204: Type.Null(), ...errorResponses, 409: ProblemSchema },
      },
    },
    async (request, reply) => {
      await users.adminDelete(currentAuth(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
