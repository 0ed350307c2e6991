import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { sendNotModified } from '../../lib/list-etag.js';
import { etagOf, isNotModified } from '../../lib/etag.js';
import {
  authenticated,
  described,
  errorResponses,
  IfNoneMatchHeaderSchema,
} from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import { JobPublicSchema } from './jobs.schemas.js';
import { toJobPublic } from './jobs.service.js';

export const jobsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { userJobs } = app.services;

  app.get(
    '/jobs/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'getJob',
        tags: ['jobs'],
        ...authenticated,
        summary: 'Follow a background job',
        description:
          'Status and progress of background work the caller started (an export, an import): ' +
          '`queued`, `running`, then `succeeded` with `result` or `failed` with `error`. Only the ' +
          "caller's own jobs; any other id is 404 `job_not_found`. Poll it: it sends a strong " +
          '`ETag` that changes with every update, and `If-None-Match` answers 304. Finished jobs ' +
          'are kept 7 days.',
        params: IdParamsSchema,
        headers: IfNoneMatchHeaderSchema,
        response: {
          200: described(JobPublicSchema, 'The job, with its `ETag`.'),
          304: described(Type.Null(), 'Not modified: `If-None-Match` names the current version.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const job = await userJobs.get(currentAuth(request).userId, request.params.id);
      reply.header('etag', etagOf(job.version));
      if (isNotModified(request.headers['if-none-match'], job.version)) {
        return sendNotModified(reply);
      }
      return toJobPublic(job);
    },
  );
};
