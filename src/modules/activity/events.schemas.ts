import Type, { type Static, type TSchema } from 'typebox';
import { nullable, TimestampSchema, UuidSchema } from '../../lib/schema-types.js';
import { CommentPublicSchema } from '../comments/comments.schemas.js';
import { MemberPublicSchema } from '../projects/members.schemas.js';
import { ProjectPublicSchema } from '../projects/projects.schemas.js';
import { TaskPublicSchema } from '../tasks/tasks.schemas.js';

const uuid = UuidSchema;

// A project as its GET shows it, without `role`: that belongs to whoever reads, not to the change.
const { role: _role, ...projectFields } = ProjectPublicSchema.properties;
export const ProjectEventDataSchema = Type.Object(projectFields);

export const ProjectDeletedDataSchema = Type.Object({
  id: uuid,
  name: Type.String({ maxLength: 100 }),
  reason: Type.Optional(
    Type.Literal('account_deleted', {
      description: 'Set when the project went with the account of its only member.',
    }),
  ),
});

export const MemberRemovedDataSchema = Type.Object({ user_id: uuid });

export const TaskMovedDataSchema = Type.Object({
  id: uuid,
  from_project_id: uuid,
  to_project_id: uuid,
  task: nullable(TaskPublicSchema, {
    description:
      'The task after the move in the target project’s event; null in the source project’s ' +
      'event, whose members may not see the target project.',
  }),
});

export const TaskDeletedDataSchema = Type.Object({
  id: uuid,
  subtask_ids: Type.Array(uuid, { maxItems: 100_000, description: 'Subtasks deleted with it.' }),
});

// The text a comment had is the one thing the log forgets: once the comment is edited or
// deleted, its earlier events keep the fact and lose the body.
const { body: _body, ...commentFields } = CommentPublicSchema.properties;
export const CommentEventDataSchema = Type.Object({
  ...commentFields,
  body: nullable(Type.String({ maxLength: 10_000 }), {
    description: 'The text as of this event; null once the comment was edited again or deleted.',
  }),
});

export const CommentDeletedDataSchema = Type.Object({ id: uuid, task_id: uuid });

/** Each event type and the shape of its `data`. */
export const EVENT_DATA = {
  'project.created': ProjectEventDataSchema,
  'project.updated': ProjectEventDataSchema,
  'project.deleted': ProjectDeletedDataSchema,
  'member.added': MemberPublicSchema,
  'member.updated': MemberPublicSchema,
  'member.removed': MemberRemovedDataSchema,
  'task.created': TaskPublicSchema,
  'task.updated': TaskPublicSchema,
  'task.completed': TaskPublicSchema,
  'task.reminder': TaskPublicSchema,
  'task.moved': TaskMovedDataSchema,
  'task.deleted': TaskDeletedDataSchema,
  'comment.created': CommentEventDataSchema,
  'comment.updated': CommentEventDataSchema,
  'comment.deleted': CommentDeletedDataSchema,
} as const;

type EventDataSchemas = typeof EVENT_DATA;
export type EventType = keyof EventDataSchemas;
export const EVENT_TYPES = Object.keys(EVENT_DATA) as EventType[];
export type EventData<T extends EventType> = Static<EventDataSchemas[T]>;

const DESCRIPTIONS: Record<EventType, string> = {
  'project.created': 'A project was created; `data` is the project.',
  'project.updated': 'A project’s settings changed; `data` is the project after the change.',
  'project.deleted': 'A project was deleted with its tasks, comments and members.',
  'member.added': 'A user joined the project; `data` is the membership.',
  'member.updated': 'A member’s role changed; `data` is the membership after the change.',
  'member.removed': 'A member left or was removed.',
  'task.created': 'A task was created; `data` is the task.',
  'task.updated': 'A task changed; `data` is the task after the change.',
  'task.completed': 'A task’s status became `done`; `data` is the task.',
  'task.reminder':
    'A task’s `remind_at` came and its reminder was sent; `data` is the task, `actor_id` null.',
  'task.moved':
    'A task moved between projects: one event in the source project and one in the target.',
  'task.deleted': 'A task was deleted with its subtasks and comments.',
  'comment.created': 'A comment was written; `data` is the comment.',
  'comment.updated': 'A comment was edited; `data` is the comment after the edit.',
  'comment.deleted': 'A comment was deleted.',
};

function eventSchema<T extends EventType>(type: T, data: EventDataSchemas[T]) {
  return Type.Object(
    {
      id: Type.String({ format: 'uuid', maxLength: 36, description: 'Stable: dedupe on it.' }),
      type: Type.Literal(type),
      project_id: nullable(UuidSchema),
      actor_id: nullable(UuidSchema, {
        description: 'Who made the change; null once that account is deleted.',
      }),
      entity_id: Type.String({
        format: 'uuid',
        maxLength: 36,
        description: 'The project, user (member events), task or comment the event is about.',
      }),
      data: data as TSchema as EventDataSchemas[T],
      created_at: TimestampSchema,
    },
    { title: type, description: DESCRIPTIONS[type] },
  );
}

type EventSchemaOf<T extends EventType> = ReturnType<typeof eventSchema<T>>;

/** One event of the activity log, as the API, the streams and webhooks show it. */
export const EventSchema = Type.Union(
  EVENT_TYPES.map((type) => eventSchema(type, EVENT_DATA[type])) as {
    [T in EventType]: EventSchemaOf<T>;
  }[EventType][],
  {
    description:
      'One change: `type` names it and fixes the shape of `data`, the resource as its GET shows ' +
      'it after the change (for `*.deleted`, what a client needs to drop it).',
  },
);

export const EVENT_SCHEMA_ID = 'Event';

/** A reference to `EventSchema`, registered once as the `Event` component of the OpenAPI document. */
export const EventRefSchema = Type.Unsafe<EventPublic>(Type.Ref(EVENT_SCHEMA_ID));

export type EventPublic = { [T in EventType]: Static<EventSchemaOf<T>> }[EventType];

/** What a writer supplies; `id`, the time and the commit position are the database's. */
export type NewEvent = {
  [T in EventType]: {
    type: T;
    projectId: string;
    actorId: string | null;
    entityId: string;
    data: EventData<T>;
  };
}[EventType];
