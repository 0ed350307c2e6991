import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { authenticated, errorResponses, ProblemSchema } from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import {
  LOGIN_REQUIRED_NOTE,
  LoginRequiredProblemSchema,
  requireLogin,
  requireSuperuser,
  SuperuserProblemSchema,
} from '../../plugins/guards.js';
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
import { toUserPublic } from './users.service.js';

export const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users } = app.services;
  const tags = ['users'];
  const base = { onRequest: [app.authenticate] };
  const login = { onRequest: [app.authenticate, requireLogin] };
  const superuser = { onRequest: [app.authenticate, requireSuperuser, requireLogin] };

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
      ...login,
      preValidation: trimEmail,
      schema: {
        tags,
        ...authenticated,
        summary: 'Change your profile',
        description:
          'A new email is normalised and must be free (409); it is then unverified. ' +
          LOGIN_REQUIRED_NOTE,
        body: UserUpdateMeSchema,
        response: {
          200: UserPublicSchema,
          ...errorResponses,
          403: LoginRequiredProblemSchema,
          409: ProblemSchema,
        },
      },
    },
    async (request) => toUserPublic(await users.updateMe(currentAuth(request), request.body)),
  );

  app.delete(
    '/users/me',
    {
      ...login,
      schema: {
        tags,
        ...authenticated,
        summary: 'Delete your account',
        description:
          'Refused (409 `sole_owner`) while you are the only owner of a project that has other members. ' +
          'Projects that have no other member are deleted with the account, tasks and all. ' +
          LOGIN_REQUIRED_NOTE,
        response: {
          204: Type.Null(),
          ...errorResponses,
          403: LoginRequiredProblemSchema,
          409: ProblemSchema,
        },
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
      ...login,
      schema: {
        tags,
        ...authenticated,
        summary: 'Change your password',
        description: 'Ends every other session of yours. ' + LOGIN_REQUIRED_NOTE,
        body: PasswordChangeSchema,
        response: { 204: Type.Null(), ...errorResponses, 403: LoginRequiredProblemSchema },
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
      ...login,
      schema: {
        tags,
        ...authenticated,
        summary: 'Your sessions',
        description:
          'Live logins (refresh-token families), most recently used first. ' + LOGIN_REQUIRED_NOTE,
        response: { 200: SessionListSchema, ...errorResponses, 403: LoginRequiredProblemSchema },
      },
    },
    async (request) => ({ items: await users.sessions(currentAuth(request)) }),
  );

  app.delete(
    '/users/me/sessions/:id',
    {
      ...login,
      schema: {
        tags,
        ...authenticated,
        summary: 'End a session',
        description:
          'Its refresh token and access tokens stop working at once. ' + LOGIN_REQUIRED_NOTE,
        params: IdParamsSchema,
        response: { 204: Type.Null(), ...errorResponses, 403: LoginRequiredProblemSchema },
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
      ...login,
      schema: {
        tags,
        ...authenticated,
        summary: 'Your personal access tokens',
        description: LOGIN_REQUIRED_NOTE,
        response: { 200: TokenListSchema, ...errorResponses, 403: LoginRequiredProblemSchema },
      },
    },
    async (request) => ({ items: await users.tokens(currentAuth(request)) }),
  );

  app.post(
    '/users/me/tokens',
    {
      ...login,
      schema: {
        tags,
        ...authenticated,
        summary: 'Create a personal access token',
        description:
          'The `dkt_…` secret is in this answer only; it is stored as a hash. Use it as a bearer token. ' +
          '`read` tokens may only use safe methods. ' +
          LOGIN_REQUIRED_NOTE,
        body: TokenCreateSchema,
        response: { 201: TokenCreatedSchema, ...errorResponses, 403: LoginRequiredProblemSchema },
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
      ...login,
      schema: {
        tags,
        ...authenticated,
        summary: 'Revoke a personal access token',
        description: LOGIN_REQUIRED_NOTE,
        params: IdParamsSchema,
        response: { 204: Type.Null(), ...errorResponses, 403: LoginRequiredProblemSchema },
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
      ...superuser,
      schema: {
        tags,
        ...authenticated,
        summary: 'List users (superuser)',
        description: '`q` matches email or name. ' + LOGIN_REQUIRED_NOTE,
        querystring: UserListQuerySchema,
        response: {
          200: UserPageSchema,
          ...errorResponses,
          403: SuperuserProblemSchema,
          400: ProblemSchema,
        },
      },
    },
    async (request) => users.list(request.query),
  );

  app.get(
    '/users/:id',
    {
      ...superuser,
      schema: {
        tags,
        ...authenticated,
        summary: 'Get a user (superuser)',
        description: LOGIN_REQUIRED_NOTE,
        params: IdParamsSchema,
        response: { 200: UserPublicSchema, ...errorResponses, 403: SuperuserProblemSchema },
      },
    },
    async (request) => toUserPublic(await users.get(request.params.id)),
  );

  app.patch(
    '/users/:id',
    {
      ...superuser,
      schema: {
        tags,
        ...authenticated,
        summary: 'Change a user (superuser)',
        description: 'Deactivating a user ends all of its sessions at once. ' + LOGIN_REQUIRED_NOTE,
        params: IdParamsSchema,
        body: UserAdminUpdateSchema,
        response: { 200: UserPublicSchema, ...errorResponses, 403: SuperuserProblemSchema },
      },
    },
    async (request) => toUserPublic(await users.adminUpdate(request.params.id, request.body)),
  );

  app.delete(
    '/users/:id',
    {
      ...superuser,
      schema: {
        tags,
        ...authenticated,
        summary: 'Delete a user (superuser)',
        description:
          'As for `DELETE /users/me`: 409 `sole_owner` while the user is the only owner of a project ' +
          'with other members; projects with no other member go with the account. ' +
          LOGIN_REQUIRED_NOTE,
        params: IdParamsSchema,
        response: {
          204: Type.Null(),
          ...errorResponses,
          403: SuperuserProblemSchema,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      await users.adminDelete(currentAuth(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
