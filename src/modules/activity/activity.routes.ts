import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { currentAuth } from '../../plugins/auth.js';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { authenticated, errorResponses, described } from '../../lib/route-docs.js';
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
          'maintenance job, so older history is not listed.',
        params: IdParamsSchema,
        querystring: Type.Object(PageQuerySchema, { additionalProperties: false }),
        response: {
          200: described(pageSchema(EventRefSchema), 'A page of events, newest first.'),
          ...errorResponses,
        },
      },
    },
    async (request) => activity.list(currentAuth(request).userId, request.params.id, request.query),
  );
};
