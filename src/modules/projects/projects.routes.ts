import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { currentAuth } from '../../plugins/auth.js';
import { sendNotModified } from '../../lib/list-etag.js';
import { etagOf, expectedVersion, isNotModified } from '../../lib/etag.js';
import {
  authenticated,
  errorResponses,
  IdempotencyHeaderSchema,
  IfMatchHeaderSchema,
  IfNoneMatchHeaderSchema,
  ProblemSchema,
  described,
} from '../../lib/route-docs.js';
import {
  IdParamsSchema,
  ProjectCreateSchema,
  ProjectListQuerySchema,
  ProjectPageSchema,
  ProjectPublicSchema,
  ProjectUpdateSchema,
} from './projects.schemas.js';
import { toProjectPublic } from './projects.service.js';

export const projectsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { projects } = app.services;
  const tags = ['projects'];

  app.get(
    '/projects',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listProjects',
        tags,
        ...authenticated,
        summary: 'List your projects',
        description:
          'The projects the caller is a member of, with the caller’s role, in creation order.',
        querystring: ProjectListQuerySchema,
        response: {
          200: described(ProjectPageSchema, 'A page of your projects.'),
          ...errorResponses,
        },
      },
    },
    async (request) => projects.list(currentAuth(request).userId, request.query),
  );

  app.post(
    '/projects',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        operationId: 'createProject',
        tags,
        ...authenticated,
        summary: 'Create a project',
        description: 'The caller becomes its owner.',
        headers: IdempotencyHeaderSchema,
        body: ProjectCreateSchema,
        response: {
          201: described(ProjectPublicSchema, 'The new project (you own it), with its `ETag`.'),
          ...errorResponses,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const project = await projects.create(currentAuth(request).userId, request.body);
      return reply
        .code(201)
        .header('etag', etagOf(project.version))
        .header('location', `/api/v1/projects/${project.id}`)
        .send(toProjectPublic(project));
    },
  );

  app.get(
    '/projects/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'getProject',
        tags,
        ...authenticated,
        summary: 'Get a project',
        description: 'Sends a strong `ETag`; `If-None-Match` with it answers 304.',
        params: IdParamsSchema,
        headers: IfNoneMatchHeaderSchema,
        response: {
          200: described(ProjectPublicSchema, 'The project, with its `ETag`.'),
          304: described(Type.Null(), 'Not modified: `If-None-Match` names the current version.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const project = await projects.get(currentAuth(request).userId, request.params.id);
      reply.header('etag', etagOf(project.version));
      if (isNotModified(request.headers['if-none-match'], project.version))
        return sendNotModified(reply);
      return toProjectPublic(project);
    },
  );

  app.patch(
    '/projects/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'updateProject',
        tags,
        ...authenticated,
        summary: 'Change a project',
        description: 'Admins and owners. Honours `If-Match` (412 when stale).',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        body: ProjectUpdateSchema,
        response: {
          200: described(ProjectPublicSchema, 'The changed project, with its new `ETag`.'),
          ...errorResponses,
          412: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const project = await projects.update(
        currentAuth(request).userId,
        request.params.id,
        request.body,
        expectedVersion(request.headers['if-match']),
      );
      return reply.header('etag', etagOf(project.version)).send(toProjectPublic(project));
    },
  );

  app.delete(
    '/projects/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'deleteProject',
        tags,
        ...authenticated,
        summary: 'Delete a project',
        description:
          'Owners only. Deletes its tasks, comments and memberships with it. Honours `If-Match`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        response: {
          204: described(Type.Null(), 'The project and everything in it are deleted.'),
          ...errorResponses,
          412: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      await projects.delete(
        currentAuth(request).userId,
        request.params.id,
        expectedVersion(request.headers['if-match']),
      );
      return reply.code(204).send(null);
    },
  );
};
