import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  authenticated,
  described,
  errorResponses,
  IdempotencyHeaderSchema,
  ProblemSchema,
} from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import { TASK_CSV_COLUMNS } from '../exports/task-csv.js';
import { JobAcceptedSchema } from '../exports/exports.schemas.js';
import { toJobPublic } from '../jobs/jobs.service.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';

const EXAMPLE =
  'id,parent_id,title,description,status,priority,labels,assignee_email,due_at\r\n' +
  '1,,Plan the launch,,todo,high,"[""launch""]",,2026-12-14T09:00:00.000Z\r\n' +
  '2,1,Write the announcement,Two paragraphs,in_progress,medium,,,\r\n';

export const importsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { imports } = app.services;
  const limit = app.config.importMaxBytes;

  // This route takes CSV or Docket's JSON export, both as text; any other type is 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['text/csv', 'application/json'],
    { parseAs: 'string', bodyLimit: limit },
    (_request, body, done) => {
      done(null, body);
    },
  );

  app.post(
    '/projects/:id/imports',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      bodyLimit: limit,
      schema: {
        operationId: 'createProjectImport',
        tags: ['exports'],
        ...authenticated,
        summary: 'Import tasks from CSV or a Docket JSON export',
        description:
          'Editors and above. The body (UTF-8, up to `IMPORT_MAX_BYTES`, 10 MiB by default; ' +
          'larger is 413) is either `application/json`, a JSON project export of Docket ' +
          '(`format: "docket.project-export"`, `version: 1`): its tasks are read as the CSV rows ' +
          'below would be (without the formula guard), `assignee_id` is mapped to the member ' +
          "with the same email (from the file's `members`), and its comments are imported on " +
          "their tasks; a row error's `row` is the 1-based index in `tasks`, or in `comments` " +
          'for `comments.*` columns. Or a `text/csv` file, recognised by its header row:\n\n' +
          `- **Docket's task CSV**, as the export writes it (${TASK_CSV_COLUMNS.join(', ')}): ` +
          'columns are found by name, only `title` is required, unknown ones are ignored. ' +
          '`id` and `parent_id` only link the rows to each other (imported tasks get new ids), ' +
          'and so does `series_id`: rows sharing one share a new series (the new id of the row ' +
          'it names, when the file has that row; a recurring row without one starts its own); ' +
          '`recurrence` and `timezone` are checked as the task API checks them (row codes ' +
          '`invalid_recurrence`, `invalid_timezone`); a `remind_at` already past is imported ' +
          'as sent, a later one fires when it falls due; ' +
          '`assignee_email` must be a member; `labels` is a JSON array or a comma-separated list; ' +
          "a leading `'` that guards a formula is removed.\n" +
          "- **Todoist's CSV template export** (`TYPE, CONTENT, DESCRIPTION, PRIORITY, INDENT, " +
          'AUTHOR, RESPONSIBLE, DATE, DATE_LANG, TIMEZONE, …`): `task` rows become tasks with ' +
          'priority 4, 3, 2, 1 → `urgent`, `high`, `medium`, `none` and their `@labels`; INDENT ' +
          'n > 1 makes a subtask of the nearest task above with INDENT n − 1; `note` rows become ' +
          'comments on the task above; `section` rows label the tasks below them with the ' +
          "section's name; ISO dates become `due_at` (natural-language dates are left out).\n\n" +
          'Any other header is 422 at once, and so is a JSON export holding text the database ' +
          'cannot store (an escaped NUL or lone surrogate: `invalid_character`, naming the field). ' +
          'Dates are read from year 1000 to 9999 in UTC; others are refused rows. The job then checks every row; if any is refused, ' +
          'nothing is imported and the job fails with `error.code` `import_invalid` and ' +
          '`error.rows` (row, column, code, message; the header is row 1). Otherwise every row ' +
          'is applied in one transaction, with the usual `task.created` and `comment.created` ' +
          'events, and `result` counts what was imported.',
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        consumes: ['text/csv', 'application/json'],
        body: Type.String({
          maxLength: limit,
          description: 'The CSV file, or the JSON export.',
          examples: [EXAMPLE],
        }),
        response: {
          202: described(JobAcceptedSchema, 'The import job, with its URL in `Location`.'),
          ...errorResponses,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const json = request.headers['content-type']?.toLowerCase().startsWith('application/json');
      const job = await imports.start(
        currentAuth(request).userId,
        request.params.id,
        request.body,
        json === true,
      );
      return reply
        .code(202)
        .header('location', `/api/v1/jobs/${job.id}`)
        .send({ job: toJobPublic(job) });
    },
  );
};
