import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { nullable } from '../../lib/schema-types.js';
import Type from 'typebox';
import { currentAuth } from '../../plugins/auth.js';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { authenticated, errorResponses } from '../../lib/route-docs.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';

export const EventPublicSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  type: Type.String({ description: 'e.g. `task.created`, `member.added`.' }),
  project_id: nullable(Type.String({ format: 'uuid' })),
  actor_id: nullable(Type.String({ format: 'uuid' })),
  entity_id: Type.String({ format: 'uuid' }),
  data: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
});

export const activityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { activity } = app.services;

  app.get(
    '/projects/:id/activity',
    {
      onRequest: [app.authenticate],
      schema: {
        tags: ['activity'],
        ...authenticated,
        summary: 'Project activity',
        description:
          'Every change to the project, its members, tasks and comments, newest first. Events ' +
          'are kept for `EVENTS_RETENTION_DAYS` (default 90, at least 7) and then purged by the ' +
          'hourly maintenance job, so older history is not listed.',
        params: IdParamsSchema,
        querystring: Type.Object(PageQuerySchema, { additionalProperties: false }),
        response: { 200: pageSchema(EventPublicSchema), ...errorResponses },
      },
    },
    async (request) => activity.list(currentAuth(request).userId, request.params.id, request.query),
  );
};
