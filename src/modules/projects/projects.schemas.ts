import { nullable, TimestampSchema, UuidSchema, VersionSchema } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';

export const IdParamsSchema = Type.Object(
  { id: Type.String({ format: 'uuid', maxLength: 36, description: 'The resource id (UUIDv7).' }) },
  { additionalProperties: false },
);

const name = Type.String({ minLength: 1, maxLength: 100, description: '1–100 characters.' });
const description = Type.String({ maxLength: 10_000, description: 'Up to 10 000 characters.' });
const color = nullable(Type.String({ pattern: '^#[0-9a-fA-F]{6}$', maxLength: 7 }), {
  description: 'A `#RRGGBB` colour, or null.',
});

export const RoleSchema = Type.Union(
  [Type.Literal('viewer'), Type.Literal('editor'), Type.Literal('admin'), Type.Literal('owner')],
  { description: 'owner > admin > editor > viewer.' },
);

export const ProjectCreateSchema = Type.Object(
  { name, description: Type.Optional(description), color: Type.Optional(color) },
  { additionalProperties: false },
);

export const ProjectUpdateSchema = Type.Object(
  {
    name: Type.Optional(name),
    description: Type.Optional(description),
    color: Type.Optional(color),
    archived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ProjectPublicSchema = Type.Object({
  id: UuidSchema,
  name,
  description,
  color,
  archived: Type.Boolean(),
  role: RoleSchema,
  created_by: nullable(UuidSchema),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
  version: VersionSchema,
});

export const ProjectListQuerySchema = Type.Object(
  {
    ...PageQuerySchema,
    archived: Type.Optional(
      Type.Boolean({ description: 'Only archived (true) or only active (false) projects.' }),
    ),
  },
  { additionalProperties: false },
);

export const ProjectPageSchema = pageSchema(ProjectPublicSchema);

export type ProjectCreate = Static<typeof ProjectCreateSchema>;
export type ProjectUpdate = Static<typeof ProjectUpdateSchema>;
export type ProjectPublic = Static<typeof ProjectPublicSchema>;
export type ProjectListQuery = Static<typeof ProjectListQuerySchema>;
