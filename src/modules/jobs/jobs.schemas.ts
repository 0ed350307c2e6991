import Type, { type Static } from 'typebox';
import { nullable, TimestampSchema, UuidSchema } from '../../lib/schema-types.js';

/** The most refused rows a failed import reports. */
export const JOB_ROW_ERRORS_MAX = 100;

export const JobPublicSchema = Type.Object(
  {
    id: UuidSchema,
    kind: Type.String({ maxLength: 100, description: 'What the job does, e.g. `export`.' }),
    status: Type.Union(
      [
        Type.Literal('queued'),
        Type.Literal('running'),
        Type.Literal('succeeded'),
        Type.Literal('failed'),
      ],
      { description: '`queued` → `running` → `succeeded` or `failed`.' },
    ),
    progress: Type.Integer({
      format: 'int32',
      minimum: 0,
      maximum: 100,
      description: 'Percent done.',
    }),
    result: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
        description: 'What the job produced (e.g. a download link); only when it succeeded.',
      }),
    ),
    error: Type.Optional(
      Type.Object(
        {
          code: Type.String({ maxLength: 100, description: 'Stable, e.g. `export_failed`.' }),
          message: Type.String({ maxLength: 2000 }),
          rows: Type.Optional(
            Type.Array(
              Type.Object({
                row: Type.Integer({
                  format: 'int32',
                  minimum: 1,
                  maximum: 2_147_483_647,
                  description: 'Row of the file, the header being row 1.',
                }),
                column: nullable(Type.String({ maxLength: 100 })),
                code: Type.String({ maxLength: 50, description: 'e.g. `missing`, `too_long`.' }),
                message: Type.String({ maxLength: 1000 }),
              }),
              {
                maxItems: JOB_ROW_ERRORS_MAX,
                description: `An import's refused rows, the first ${JOB_ROW_ERRORS_MAX}.`,
              },
            ),
          ),
          row_error_count: Type.Optional(
            Type.Integer({
              format: 'int32',
              minimum: 0,
              maximum: 2_147_483_647,
              description: 'How many rows were refused in all.',
            }),
          ),
        },
        { description: 'Why it failed; only when it failed.' },
      ),
    ),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    finished_at: nullable(TimestampSchema),
  },
  { description: 'Background work the caller started (an export, an import).' },
);

export type JobPublic = Static<typeof JobPublicSchema>;
