import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { nullable, TimestampSchema, UuidSchema } from '../../lib/schema-types.js';
import Type from 'typebox';
import { currentAuth } from '../../plugins/auth.js';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { authenticated, errorResponses, described } from '../../lib/route-docs.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import { ActivityService } from './activity.service.js';

export const EventPublicSchema = Type.Object({
  id: UuidSchema,
  type: Type.String({ maxLength: 100, description: 'e.g. `task.created`, `member.added`.' }),
  project_id: nullable(UuidSchema),
  actor_id: nullable(UuidSchema),
  entity_id: UuidSchema,
  data: Type.Record(Type.String({ maxLength: 100 }), Type.Unknown()),
  created_at: TimestampSchema,
});

export const activityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const activity = new ActivityService(app.db);

  app.get(
    '/projects/:id/activity',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listProjectActivity',
        tags: ['activity'],
        ...authenticated,
        summary: 'Project activity',
        description: 'Every change to the project, its members, tasks and comments, newest first.',
        params: IdParamsSchema,
        querystring: Type.Object(PageQuerySchema, { additionalProperties: false }),
        response: {
          200: described(pageSchema(EventPublicSchema), 'A page of events, newest first.'),
          ...errorResponses,
        },
      },
    },
    async (request) => activity.list(currentAuth(request).userId, request.params.id, request.query),
  );
};
