import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { etagOf, expectedVersion, isNotModified } from '../../lib/etag.js';
import {
  authenticated,
  errorResponses,
  IdempotencyHeaderSchema,
  IfMatchHeaderSchema,
  IfNoneMatchHeaderSchema,
  ProblemSchema,
} from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import {
  ProjectTaskListQuerySchema,
  TaskCreateSchema,
  TaskListQuerySchema,
  TaskPageSchema,
  TaskPublicSchema,
  TaskUpdateSchema,
} from './tasks.schemas.js';
import { toTaskPublic } from './tasks.service.js';

const LIST_DESCRIPTION =
  'Filters combine: `status` and `priority` repeated mean any of them, `label` repeated means all of ' +
  'them. `q` searches title and description. Keyset pagination: pass `next_cursor` back as `cursor` ' +
  'with the same filters and sort; a page costs the same however deep it is.';

export const tasksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { tasks } = app.services;
  const tags = ['tasks'];

  app.post(
    '/projects/:id/tasks',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        tags,
        ...authenticated,
        summary: 'Create a task',
        description:
          'Editors and above. `assignee_id` must be a member; `parent_id` a task of the same project.',
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: TaskCreateSchema,
        response: { 201: TaskPublicSchema, ...errorResponses, 409: ProblemSchema },
      },
    },
    async (request, reply) => {
      const task = await tasks.create(currentAuth(request).userId, request.params.id, request.body);
      return reply
        .code(201)
        .header('etag', etagOf(task.version))
        .header('location', `/api/v1/tasks/${task.id}`)
        .send(toTaskPublic(task));
    },
  );

  app.get(
    '/projects/:id/tasks',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'List a project’s tasks',
        description: LIST_DESCRIPTION,
        params: IdParamsSchema,
        querystring: ProjectTaskListQuerySchema,
        response: { 200: TaskPageSchema, ...errorResponses, 400: ProblemSchema },
      },
    },
    async (request) => tasks.list(currentAuth(request).userId, request.params.id, request.query),
  );

  app.get(
    '/tasks',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'List tasks across your projects',
        description: `Every task in every project the caller is a member of. ${LIST_DESCRIPTION}`,
        querystring: TaskListQuerySchema,
        response: { 200: TaskPageSchema, ...errorResponses, 400: ProblemSchema },
      },
    },
    async (request) => tasks.list(currentAuth(request).userId, null, request.query),
  );

  app.get(
    '/tasks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'Get a task',
        description: 'Sends a strong `ETag`; `If-None-Match` with it answers 304.',
        params: IdParamsSchema,
        headers: IfNoneMatchHeaderSchema,
        response: { 200: TaskPublicSchema, 304: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const task = await tasks.get(currentAuth(request).userId, request.params.id);
      reply.header('etag', etagOf(task.version));
      if (isNotModified(request.headers['if-none-match'], task.version))
        return reply.code(304).send(null);
      return toTaskPublic(task);
    },
  );

  app.patch(
    '/tasks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'Change a task',
        description:
          'Partial update by editors and above. `completed_at` follows `status`. Honours `If-Match` ' +
          '(412 when stale); without it the change still applies atomically and bumps `version`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        body: TaskUpdateSchema,
        response: {
          200: TaskPublicSchema,
          ...errorResponses,
          409: ProblemSchema,
          412: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const task = await tasks.update(
        currentAuth(request).userId,
        request.params.id,
        request.body,
        expectedVersion(request.headers['if-match']),
      );
      return reply.header('etag', etagOf(task.version)).send(toTaskPublic(task));
    },
  );

  app.delete(
    '/tasks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        tags,
        ...authenticated,
        summary: 'Delete a task',
        description: 'Editors and above; its subtasks and comments go with it. Honours `If-Match`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        response: { 204: Type.Null(), ...errorResponses, 412: ProblemSchema },
      },
    },
    async (request, reply) => {
      await tasks.delete(
        currentAuth(request).userId,
        request.params.id,
        expectedVersion(request.headers['if-match']),
      );
      return reply.code(204).send(null);
    },
  );
};
