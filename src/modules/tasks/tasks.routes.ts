import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sendJsonText } from '../../lib/json-text.js';
import { sendList, sendNotModified } from '../../lib/list-etag.js';
import Type from 'typebox';
import { etagOf, expectedVersion, isNotModified } from '../../lib/etag.js';
import {
  authenticated,
  errorResponses,
  IdempotencyHeaderSchema,
  IfMatchHeaderSchema,
  IfNoneMatchHeaderSchema,
  LIST_ETAG_HEADER,
  ProblemSchema,
  described,
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
  'with the same filters and sort; a page costs the same however deep it is. Every answer has a ' +
  'weak `ETag`; `If-None-Match` with it answers 304, without reading the tasks, while nothing in ' +
  'the projects the list covers has changed.';

const listResponses = {
  200: described(TaskPageSchema, 'A page of tasks, with its weak `ETag`.', LIST_ETAG_HEADER),
  304: described(
    Type.Null(),
    'Not modified: `If-None-Match` names the current `ETag` of this list.',
    LIST_ETAG_HEADER,
  ),
  ...errorResponses,
  400: ProblemSchema,
};

export const tasksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { tasks } = app.services;
  const tags = ['tasks'];

  app.post(
    '/projects/:id/tasks',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        operationId: 'createTask',
        tags,
        ...authenticated,
        summary: 'Create a task',
        description:
          'Editors and above. `assignee_id` must be a member; `parent_id` a task of the same project.',
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: TaskCreateSchema,
        response: {
          201: described(TaskPublicSchema, 'The new task, with its `ETag` and `Location`.'),
          ...errorResponses,
          409: ProblemSchema,
        },
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
        operationId: 'listProjectTasks',
        tags,
        ...authenticated,
        summary: 'List a project’s tasks',
        description: LIST_DESCRIPTION,
        params: IdParamsSchema,
        querystring: ProjectTaskListQuerySchema,
        headers: IfNoneMatchHeaderSchema,
        response: listResponses,
      },
    },
    async (request, reply) =>
      sendList(
        reply,
        await tasks.list(currentAuth(request).userId, request.params.id, request.query, {
          ifNoneMatch: request.headers['if-none-match'],
        }),
      ),
  );

  app.get(
    '/tasks',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listTasks',
        tags,
        ...authenticated,
        summary: 'List tasks across your projects',
        description: `Every task in every project the caller is a member of. ${LIST_DESCRIPTION}`,
        querystring: TaskListQuerySchema,
        headers: IfNoneMatchHeaderSchema,
        response: listResponses,
      },
    },
    async (request, reply) =>
      sendList(
        reply,
        await tasks.list(currentAuth(request).userId, null, request.query, {
          ifNoneMatch: request.headers['if-none-match'],
        }),
      ),
  );

  app.get(
    '/tasks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'getTask',
        tags,
        ...authenticated,
        summary: 'Get a task',
        description: 'Sends a strong `ETag`; `If-None-Match` with it answers 304.',
        params: IdParamsSchema,
        headers: IfNoneMatchHeaderSchema,
        response: {
          200: described(TaskPublicSchema, 'The task, with its `ETag`.'),
          304: described(Type.Null(), 'Not modified: `If-None-Match` names the current version.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const answer = await tasks.getPublic(currentAuth(request).userId, request.params.id);
      reply.header('etag', etagOf(answer.version));
      if (isNotModified(request.headers['if-none-match'], answer.version))
        return sendNotModified(reply);
      if ('json' in answer) return sendJsonText(reply, answer.json);
      return toTaskPublic(answer.task);
    },
  );

  app.patch(
    '/tasks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'updateTask',
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
          200: described(TaskPublicSchema, 'The changed task, with its new `ETag`.'),
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
        operationId: 'deleteTask',
        tags,
        ...authenticated,
        summary: 'Delete a task',
        description: 'Editors and above; its subtasks and comments go with it. Honours `If-Match`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        response: {
          204: described(Type.Null(), 'The task and its subtasks are deleted.'),
          ...errorResponses,
          412: ProblemSchema,
        },
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
