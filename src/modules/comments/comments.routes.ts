import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sendList } from '../../lib/list-etag.js';
import Type from 'typebox';
import { etagOf, expectedVersion } from '../../lib/etag.js';
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
  CommentBodySchema,
  CommentListQuerySchema,
  CommentPageSchema,
  CommentPublicSchema,
} from './comments.schemas.js';
import { toCommentPublic } from './comments.service.js';

export const commentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { comments } = app.services;
  const tags = ['comments'];

  app.get(
    '/tasks/:id/comments',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listTaskComments',
        tags,
        ...authenticated,
        summary: 'List a task’s comments',
        description:
          'Oldest first, cursor paginated. Sends a weak `ETag`; `If-None-Match` with it answers ' +
          '304 while the task’s project has not changed.',
        params: IdParamsSchema,
        querystring: CommentListQuerySchema,
        headers: IfNoneMatchHeaderSchema,
        response: {
          200: described(
            CommentPageSchema,
            'A page of comments, oldest first, with its weak `ETag`.',
            LIST_ETAG_HEADER,
          ),
          304: described(
            Type.Null(),
            'Not modified: `If-None-Match` names the current `ETag` of this list.',
            LIST_ETAG_HEADER,
          ),
          ...errorResponses,
          400: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const answer = await comments.list(
        currentAuth(request).userId,
        request.params.id,
        request.query,
        request.headers['if-none-match'],
      );
      return sendList(reply, answer);
    },
  );

  app.post(
    '/tasks/:id/comments',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        operationId: 'createComment',
        tags,
        ...authenticated,
        summary: 'Comment on a task',
        description: 'Editors and above.',
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: CommentBodySchema,
        response: {
          201: described(CommentPublicSchema, 'The new comment, with its `ETag`.'),
          ...errorResponses,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const comment = await comments.create(
        currentAuth(request).userId,
        request.params.id,
        request.body.body,
      );
      return reply.code(201).header('etag', etagOf(comment.version)).send(toCommentPublic(comment));
    },
  );

  app.patch(
    '/comments/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'updateComment',
        tags,
        ...authenticated,
        summary: 'Edit a comment',
        description: 'Its author only. Honours `If-Match`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        body: CommentBodySchema,
        response: {
          200: described(CommentPublicSchema, 'The changed comment, with its new `ETag`.'),
          ...errorResponses,
          412: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const comment = await comments.update(
        currentAuth(request).userId,
        request.params.id,
        request.body.body,
        expectedVersion(request.headers['if-match']),
      );
      return reply.header('etag', etagOf(comment.version)).send(toCommentPublic(comment));
    },
  );

  app.delete(
    '/comments/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'deleteComment',
        tags,
        ...authenticated,
        summary: 'Delete a comment',
        description: 'Its author or a project admin. Honours `If-Match`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        response: {
          204: described(Type.Null(), 'The comment is deleted.'),
          ...errorResponses,
          412: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      await comments.delete(
        currentAuth(request).userId,
        request.params.id,
        expectedVersion(request.headers['if-match']),
      );
      return reply.code(204).send(null);
    },
  );
};
