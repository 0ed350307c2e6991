import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sendList } from '../../lib/list-etag.js';
import Type from 'typebox';
import { currentAuth } from '../../plugins/auth.js';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import {
  authenticated,
  errorResponses,
  described,
  IfNoneMatchHeaderSchema,
  LIST_ETAG_HEADER,
} from '../../lib/route-docs.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import { EventRefSchema } from './events.schemas.js';

export const activityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { activity } = app.services;

  app.get(
    '/projects/:id/activity',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listProjectActivity',
        tags: ['activity'],
        ...authenticated,
        summary: 'Project activity',
        description:
          'Every change to the project, its members, tasks and comments, newest first. Each item ' +
          'is an `Event`: its `type` fixes the shape of `data`, the resource as its GET showed it ' +
          'after the change. A comment’s text stays only on its latest event while the comment ' +
          'exists: editing or deleting it removes the earlier text from the log. A task moved ' +
          'between projects appears in both (`task.moved`). Events are kept for ' +
          '`EVENTS_RETENTION_DAYS` (default 90, at least 7) and then purged by the hourly ' +
          'maintenance job, so older history is not listed. Sends a weak `ETag`; ' +
          '`If-None-Match` with it answers 304 while the project has not changed.',
        params: IdParamsSchema,
        querystring: Type.Object(PageQuerySchema, { additionalProperties: false }),
        headers: IfNoneMatchHeaderSchema,
        response: {
          200: described(
            pageSchema(EventRefSchema),
            'A page of events, newest first, with its weak `ETag`.',
            LIST_ETAG_HEADER,
          ),
          304: described(
            Type.Null(),
            'Not modified: `If-None-Match` names the current `ETag` of this list.',
            LIST_ETAG_HEADER,
          ),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const answer = await activity.list(
        currentAuth(request).userId,
        request.params.id,
        request.query,
        request.headers['if-none-match'],
      );
      return sendList(reply, answer);
    },
  );
};
