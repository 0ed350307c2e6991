import Type, { type Static } from 'typebox';
import { nullable } from '../../lib/schema-types.js';

export const JobPublicSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    kind: Type.String({ description: 'What the job does, e.g. `export`.' }),
    status: Type.Union(
      [
        Type.Literal('queued'),
        Type.Literal('running'),
        Type.Literal('succeeded'),
        Type.Literal('failed'),
      ],
      { description: '`queued` → `running` → `succeeded` or `failed`.' },
    ),
    progress: Type.Integer({ minimum: 0, maximum: 100, description: 'Percent done.' }),
    result: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'What the job produced (e.g. a download link); only when it succeeded.',
      }),
    ),
    error: Type.Optional(
      Type.Object(
        {
          code: Type.String({ description: 'Stable, e.g. `export_failed`.' }),
          message: Type.String(),
        },
        { description: 'Why it failed; only when it failed.' },
      ),
    ),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    finished_at: nullable(Type.String({ format: 'date-time' })),
  },
  { description: 'Background work the caller started (an export, an import).' },
);

export type JobPublic = Static<typeof JobPublicSchema>;
