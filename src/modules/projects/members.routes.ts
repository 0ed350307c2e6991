import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { currentAuth } from '../../plugins/auth.js';
import {
  authenticated,
  errorResponses,
  IdempotencyHeaderSchema,
  ProblemSchema,
} from '../../lib/route-docs.js';
import {
  MemberCreateSchema,
  MemberListQuerySchema,
  MemberPageSchema,
  MemberParamsSchema,
  MemberPublicSchema,
  MemberUpdateSchema,
} from './members.schemas.js';
import { toMemberPublic } from './members.service.js';
import { IdParamsSchema } from './projects.schemas.js';

export const membersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { members } = app.services;
  const tags = ['members'];

  app.get(
    '/projects/:id/members',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'List members',
        description: 'Every member of the project with its role. Any member may list them.',
        params: IdParamsSchema,
        querystring: MemberListQuerySchema,
        response: { 200: MemberPageSchema, ...errorResponses },
      },
    },
    async (request) => members.list(currentAuth(request).userId, request.params.id, request.query),
  );

  app.post(
    '/projects/:id/members',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        tags,
        ...authenticated,
        summary: 'Add a member',
        description:
          'Adds an existing user by email. Admins add viewers, editors and admins; only owners add owners. ' +
          'An unknown email is 404 `user_not_found`; an existing member is 409 `member_exists`.',
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: MemberCreateSchema,
        response: { 201: MemberPublicSchema, ...errorResponses, 409: ProblemSchema },
      },
    },
    async (request, reply) => {
      const member = await members.add(
        currentAuth(request).userId,
        request.params.id,
        request.body,
      );
      return reply.code(201).send(toMemberPublic(member));
    },
  );

  app.patch(
    '/projects/:id/members/:user_id',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'Change a member’s role',
        description:
          'Admins manage roles below owner; owners also grant and change the owner role. The last owner ' +
          'cannot be demoted (409 `last_owner`).',
        params: MemberParamsSchema,
        body: MemberUpdateSchema,
        response: { 200: MemberPublicSchema, ...errorResponses, 409: ProblemSchema },
      },
    },
    async (request) =>
      toMemberPublic(
        await members.changeRole(
          currentAuth(request).userId,
          request.params.id,
          request.params.user_id,
          request.body.role,
        ),
      ),
  );

  app.delete(
    '/projects/:id/members/:user_id',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'Remove a member',
        description:
          'Any member may remove itself; admins remove members below owner; owners remove anyone. ' +
          'The last owner cannot leave (409 `last_owner`).',
        params: MemberParamsSchema,
        response: { 204: Type.Null(), ...errorResponses, 409: ProblemSchema },
      },
    },
    async (request, reply) => {
      await members.remove(currentAuth(request).userId, request.params.id, request.params.user_id);
      return reply.code(204).send(null);
    },
  );
};
