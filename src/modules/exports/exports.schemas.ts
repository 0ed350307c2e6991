import Type, { type Static } from 'typebox';
import { JobPublicSchema } from '../jobs/jobs.schemas.js';

export const ExportCreateSchema = Type.Object(
  {
    format: Type.Union([Type.Literal('json'), Type.Literal('csv')], {
      description:
        '`json`: `{format, version, exported_at, project, members, tasks, comments}`, each in ' +
        'the shape its GET shows. `csv`: the tasks, one per row, with the documented columns.',
    }),
  },
  { additionalProperties: false, examples: [{ format: 'csv' }] },
);

export type ExportCreate = Static<typeof ExportCreateSchema>;

export const JobAcceptedSchema = Type.Object(
  { job: JobPublicSchema },
  {
    description: 'The job doing the work; follow it at `GET /jobs/{id}`.',
    examples: [
      {
        job: {
          id: '01938a4e-7c2b-7a10-9a3e-2b4c6d8e0f12',
          kind: 'export',
          status: 'queued',
          progress: 0,
          created_at: '2026-12-01T12:00:00.000Z',
          updated_at: '2026-12-01T12:00:00.000Z',
          finished_at: null,
        },
      },
    ],
  },
);

/** The download's body: the file itself, in the format it was made in. */
export const ExportFileResponseSchema = Type.Unsafe<unknown>({
  content: {
    'application/json': {
      schema: {
        type: 'string',
        format: 'binary',
        description: 'A JSON export.',
        maxLength: 2_147_483_647,
      },
    },
    'text/csv': {
      schema: {
        type: 'string',
        format: 'binary',
        description: 'A CSV export.',
        maxLength: 2_147_483_647,
      },
    },
  },
});
