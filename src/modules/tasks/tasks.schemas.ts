import { nullable, TimestampSchema, UuidSchema, VersionSchema } from '../../lib/schema-types.js';
import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { RECURRENCE_MAX_LENGTH, TIMEZONE_MAX_LENGTH } from './recurrence.js';

const uuid = UuidSchema;
const nullableUuid = nullable(uuid);
const time = TimestampSchema;

export const StatusSchema = Type.Union([
  Type.Literal('todo'),
  Type.Literal('in_progress'),
  Type.Literal('done'),
  Type.Literal('canceled'),
]);
export const PrioritySchema = Type.Union([
  Type.Literal('none'),
  Type.Literal('low'),
  Type.Literal('medium'),
  Type.Literal('high'),
  Type.Literal('urgent'),
]);

const title = Type.String({ minLength: 1, maxLength: 255, description: '1–255 characters.' });
const description = Type.String({ maxLength: 10_000, description: 'Up to 10 000 characters.' });
const label = Type.String({ minLength: 1, maxLength: 50 });
const labels = Type.Array(label, {
  maxItems: 20,
  uniqueItems: true,
  description: 'Up to 20 distinct labels of 1–50 characters.',
});
const position = Type.Number({ description: 'Manual ordering; any finite number.' });
const dueAt = nullable(time, {
  description:
    'When the task is due. Local midnight in the task’s `timezone` (UTC when none) means a date ' +
    'without a time of day: the calendar feed shows it as an all-day event. Like every time ' +
    'sent, from year 1000 to 9999 in UTC; a leap second (`:60`) is refused.',
  examples: ['2026-11-23T09:00:00.000Z'],
});
const remindAt = nullable(time, {
  description:
    'When the assignee (or, for an unassigned task, its creator) gets a reminder mail and a ' +
    '`task.reminder` event, once. Moving it plans the reminder again; a done or canceled task ' +
    'is not reminded. From year 1000 to 9999 in UTC.',
  examples: ['2026-11-23T08:30:00.000Z'],
});
const recurrence = nullable(Type.String({ minLength: 1, maxLength: RECURRENCE_MAX_LENGTH }), {
  description:
    'An RFC 5545 RRULE value without `RRULE:` or `DTSTART` (the due date is the start), e.g. ' +
    '`FREQ=WEEKLY;BYDAY=MO`. `FREQ` is DAILY, WEEKLY, MONTHLY or YEARLY; parts: INTERVAL, ' +
    'COUNT (occurrences from this one on), UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYYEARDAY, ' +
    'BYWEEKNO, BYSETPOS, BYHOUR, BYMINUTE, WKST. Needs `due_at` or `remind_at`. Completing ' +
    'the task creates the next occurrence, due (and reminded) as the rule says in `timezone`, ' +
    'and hands the rule on to it (the series ends when that would fall after year 9999); null ' +
    'stops the series and leaves past occurrences as they are. An invalid rule, or one whose next occurrence cannot be found, is 422 ' +
    '`invalid_recurrence`.',
  examples: ['FREQ=WEEKLY;BYDAY=MO', 'FREQ=MONTHLY;BYMONTHDAY=31'],
});
const timezone = nullable(Type.String({ minLength: 1, maxLength: TIMEZONE_MAX_LENGTH }), {
  description:
    'The IANA time zone the recurrence and an all-day due date are read in (null: UTC), ' +
    'stored under its canonical name. An unknown zone or a fixed offset is 422 `invalid_timezone`.',
  examples: ['Europe/Berlin'],
});

export const TaskCreateSchema = Type.Object(
  {
    title,
    description: Type.Optional(description),
    status: Type.Optional(StatusSchema),
    priority: Type.Optional(PrioritySchema),
    labels: Type.Optional(labels),
    assignee_id: Type.Optional(nullable(uuid, { description: 'A member of the project.' })),
    due_at: Type.Optional(dueAt),
    remind_at: Type.Optional(remindAt),
    recurrence: Type.Optional(recurrence),
    timezone: Type.Optional(timezone),
    position: Type.Optional(position),
    parent_id: Type.Optional(
      nullable(uuid, {
        description: 'Makes this a subtask of a task in the same project.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const TaskUpdateSchema = Type.Object(
  {
    title: Type.Optional(title),
    description: Type.Optional(description),
    status: Type.Optional(StatusSchema),
    priority: Type.Optional(PrioritySchema),
    labels: Type.Optional(labels),
    assignee_id: Type.Optional(nullableUuid),
    due_at: Type.Optional(dueAt),
    remind_at: Type.Optional(remindAt),
    recurrence: Type.Optional(recurrence),
    timezone: Type.Optional(timezone),
    position: Type.Optional(position),
    parent_id: Type.Optional(nullableUuid),
    project_id: Type.Optional(
      Type.String({
        ...uuid,
        description:
          'Moves the task; needs editor rights on both projects. A task with subtasks cannot move; ' +
          'a subtask moves only with `parent_id` set to null or to a task of the target project.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

/**
 * A task as the API sends it. The `tasks_public_json` trigger writes each task's JSON in this
 * shape (fields, order, formats) and lists and GET /tasks/{id} send that text: a change here
 * needs a migration that replaces the trigger's function and rewrites the column
 * (test/tasks/list-fast-path.test.ts fails until both agree).
 */
export const TaskPublicSchema = Type.Object({
  id: uuid,
  project_id: uuid,
  parent_id: nullableUuid,
  title,
  description,
  status: StatusSchema,
  priority: PrioritySchema,
  labels,
  assignee_id: nullableUuid,
  due_at: dueAt,
  remind_at: remindAt,
  recurrence,
  timezone,
  series_id: nullable(uuid, {
    description: 'Shared by the occurrences of a recurring task: the first occurrence’s id.',
  }),
  completed_at: nullable(time, {
    description: 'Set by the server when status becomes done; cleared when it leaves done.',
  }),
  position: Type.Number(),
  created_by: nullableUuid,
  created_at: time,
  updated_at: time,
  version: VersionSchema,
});

export const TASK_SORTS = [
  'created_at',
  '-created_at',
  'updated_at',
  '-updated_at',
  'due_at',
  '-due_at',
  'priority',
  '-priority',
  'position',
  '-position',
  'rank',
] as const;

const SortSchema = Type.Union(
  [
    Type.Literal('created_at'),
    Type.Literal('-created_at'),
    Type.Literal('updated_at'),
    Type.Literal('-updated_at'),
    Type.Literal('due_at'),
    Type.Literal('-due_at'),
    Type.Literal('priority'),
    Type.Literal('-priority'),
    Type.Literal('position'),
    Type.Literal('-position'),
    Type.Literal('rank'),
  ],
  {
    description:
      'Order of the list; `-` for descending; default `created_at`. `rank` orders a `q` search by relevance ' +
      '(it ranks every match, so it costs more on common words). ' +
      'Tasks without a due date come last for `due_at` and first for `-due_at`.',
  },
);

const filters = {
  status: Type.Optional(
    Type.Array(StatusSchema, { maxItems: 4, description: 'Repeatable: any of these statuses.' }),
  ),
  priority: Type.Optional(
    Type.Array(PrioritySchema, {
      maxItems: 5,
      description: 'Repeatable: any of these priorities.',
    }),
  ),
  assignee_id: Type.Optional(
    // One string rather than a union: id checkers read a union with a literal as a guessable id.
    Type.String({
      maxLength: 36,
      pattern: '^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$',
      description: 'A user id, or `me` for the caller.',
    }),
  ),
  label: Type.Optional(
    Type.Array(label, {
      maxItems: 20,
      description: 'Repeatable: tasks carrying all of these labels.',
    }),
  ),
  due_before: Type.Optional(Type.String({ ...time, description: 'due_at < this time.' })),
  due_after: Type.Optional(Type.String({ ...time, description: 'due_at >= this time.' })),
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Full-text search in title and description.',
    }),
  ),
  parent_id: Type.Optional(Type.String({ ...uuid, description: 'Only subtasks of this task.' })),
  updated_since: Type.Optional(
    Type.String({
      ...time,
      description: 'Only tasks changed at or after this time (sync).',
    }),
  ),
  sort: Type.Optional(SortSchema),
  ...PageQuerySchema,
};

export const ProjectTaskListQuerySchema = Type.Object(filters, { additionalProperties: false });
export const TaskListQuerySchema = Type.Object(
  {
    ...filters,
    project_id: Type.Optional(Type.String({ ...uuid, description: 'Only this project.' })),
  },
  { additionalProperties: false },
);

export const TaskPageSchema = pageSchema(TaskPublicSchema);

export type TaskCreate = Static<typeof TaskCreateSchema>;
export type TaskUpdate = Static<typeof TaskUpdateSchema>;
export type TaskPublic = Static<typeof TaskPublicSchema>;
export type TaskListQuery = Static<typeof TaskListQuerySchema>;
export type TaskSort = (typeof TASK_SORTS)[number];
