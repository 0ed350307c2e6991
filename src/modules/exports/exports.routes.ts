import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  authenticated,
  described,
  errorResponses,
  IdempotencyHeaderSchema,
  ProblemSchema,
} from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import { toJobPublic } from '../jobs/jobs.service.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import {
  ExportCreateSchema,
  ExportFileResponseSchema,
  JobAcceptedSchema,
} from './exports.schemas.js';
import { TASK_CSV_COLUMNS } from './task-csv.js';

const CSV_COLUMNS = TASK_CSV_COLUMNS.map((column) => `\`${column}\``).join(', ');

export const exportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { exports } = app.services;
  const tags = ['exports'];

  app.post(
    '/projects/:id/exports',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        operationId: 'createProjectExport',
        tags,
        ...authenticated,
        summary: 'Export a project',
        description:
          'Any member. Builds the file in the background: follow the job at `GET /jobs/{id}` ' +
          '(`progress` in percent); when it has `succeeded`, `result.download_url` is ' +
          '`/api/v1/exports/{export_id}/download`, for the caller only, for 7 days. ' +
          '`json` holds `{format: "docket.project-export", version: 1, exported_at, project, ' +
          'members, tasks, comments}`, each item in the shape its GET shows. `csv` holds the ' +
          `tasks, one per row (RFC 4180, CRLF, UTF-8, a header row), with the columns ${CSV_COLUMNS}; ` +
          'new columns are only ever added at the end. `labels` is a JSON array; dates are ' +
          'ISO 8601 in UTC; `assignee_email` names the assignee; `recurrence`, `timezone` and ' +
          '`series_id` are empty when the task has none. A text cell that a spreadsheet ' +
          'would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return, ' +
          "after any `'`) gets a leading `'`; the import removes it again. On PostgreSQL the " +
          'file shows the project at one moment, whatever changes while it is built.',
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: ExportCreateSchema,
        response: {
          202: described(JobAcceptedSchema, 'The export job, with its URL in `Location`.'),
          ...errorResponses,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const job = await exports.start(
        currentAuth(request).userId,
        request.params.id,
        request.body.format,
      );
      return reply
        .code(202)
        .header('location', `/api/v1/jobs/${job.id}`)
        .send({ job: toJobPublic(job) });
    },
  );

  app.get(
    '/exports/:id/download',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'downloadExport',
        tags,
        ...authenticated,
        summary: 'Download an export',
        description:
          'The file of a finished export, streamed, with `Content-Type`, `Content-Length` and ' +
          '`Content-Disposition: attachment`. Only for the user who asked for it, while still a ' +
          'member of the project; any other caller, or an unknown id, is 404 `export_not_found`. Kept 7 days: after that 410 ' +
          '`export_expired`, and the file is then purged (404).',
        params: IdParamsSchema,
        response: {
          200: described(ExportFileResponseSchema, 'The exported file.'),
          ...errorResponses,
          410: described(
            ProblemSchema,
            'The export is older than 7 days (`export_expired`); start a new one.',
          ),
        },
      },
    },
    async (request, reply) => {
      const { file, stream } = await exports.download(
        currentAuth(request).userId,
        request.params.id,
      );
      return reply
        .header('content-type', file.contentType)
        .header('content-length', String(file.size))
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .header('cache-control', 'private, no-store')
        .send(stream);
    },
  );
};
