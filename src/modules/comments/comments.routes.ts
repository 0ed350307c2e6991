import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { etagOf, expectedVersion } from '../../lib/etag.js';
import {
  authenticated,
  errorResponses,
  IdempotencyHeaderSchema,
  IfMatchHeaderSchema,
  ProblemSchema,
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
        tags,
        ...authenticated,
        summary: 'List a task’s comments',
        description: 'Oldest first, cursor paginated.',
        params: IdParamsSchema,
        querystring: CommentListQuerySchema,
        response: { 200: CommentPageSchema, ...errorResponses, 400: ProblemSchema },
      },
    },
    async (request) => comments.list(currentAuth(request).userId, request.params.id, request.query),
  );

  app.post(
    '/tasks/:id/comments',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        tags,
        ...authenticated,
        summary: 'Comment on a task',
        description: 'Editors and above.',
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: CommentBodySchema,
        response: { 201: CommentPublicSchema, ...errorResponses, 409: ProblemSchema },
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
        tags,
        ...authenticated,
        summary: 'Edit a comment',
        description: 'Its author only. Honours `If-Match`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        body: CommentBodySchema,
        response: { 200: CommentPublicSchema, ...errorResponses, 412: ProblemSchema },
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
        tags,
        ...authenticated,
        summary: 'Delete a comment',
        description: 'Its author or a project admin. Honours `If-Match`.',
        params: IdParamsSchema,
        headers: IfMatchHeaderSchema,
        response: { 204: Type.Null(), ...errorResponses, 412: ProblemSchema },
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
