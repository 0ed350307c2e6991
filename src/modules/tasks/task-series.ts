import type { TaskRow } from '../../db/schema/index.js';
import { AppError } from '../../lib/errors.js';
import { LATEST_TIME } from '../../lib/schema-types.js';
import {
  canonicalTimezone,
  nextOccurrence,
  normaliseRecurrence,
  RecurrenceError,
  shiftLike,
} from './recurrence.js';
import type { NewTask, TaskChanges } from './tasks.repository.js';
import type { TaskUpdate } from './tasks.schemas.js';

/** A `RecurrenceError` as the 422 problem the API answers with; other errors pass through. */
function asProblem(error: unknown): unknown {
  if (!(error instanceof RecurrenceError)) return error;
  const code = error.field === 'recurrence' ? 'invalid_recurrence' : 'invalid_timezone';
  return new AppError(code, `${error.field} ${error.message}.`, {
    errors: [{ location: 'body', field: error.field, message: error.message, code }],
  });
}

/** The canonical name of an IANA time zone, or 422 `invalid_timezone`. */
export function checkedTimezone(zone: string): string {
  try {
    return canonicalTimezone(zone);
  } catch (error) {
    throw asProblem(error);
  }
}

/**
 * The rule in canonical form, once it is known to be valid and to have a computable next
 * occurrence after `anchor` (the due date, else the reminder) in `timezone`; else 422
 * `invalid_recurrence`.
 */
export function checkedRecurrence(
  rule: string,
  timezone: string | null,
  anchor: Date | null,
): string {
  try {
    const canonical = normaliseRecurrence(rule);
    if (anchor === null) {
      throw new RecurrenceError('recurrence', 'needs due_at or remind_at to start from');
    }
    nextOccurrence(canonical, timezone ?? 'UTC', anchor);
    return canonical;
  } catch (error) {
    throw asProblem(error);
  }
}

/**
 * The recurrence columns a PATCH changes. The rule is checked again whenever what it depends on
 * changes (itself, the time zone, the dates); a task that starts recurring starts its own series.
 * `changes` holds the dates the PATCH sets.
 */
export function seriesChanges(
  input: TaskUpdate,
  current: TaskRow,
  changes: TaskChanges,
): TaskChanges {
  const result: TaskChanges = {};
  if (input.timezone !== undefined) {
    result.timezone = input.timezone === null ? null : checkedTimezone(input.timezone);
  }
  const timezone = result.timezone === undefined ? current.timezone : result.timezone;
  const dueAt = changes.dueAt === undefined ? current.dueAt : changes.dueAt;
  const remindAt = changes.remindAt === undefined ? current.remindAt : changes.remindAt;
  const rule = input.recurrence === undefined ? current.recurrence : input.recurrence;
  const dependsChanged =
    input.recurrence !== undefined ||
    input.timezone !== undefined ||
    input.due_at !== undefined ||
    input.remind_at !== undefined;
  if (rule !== null && dependsChanged) {
    result.recurrence = checkedRecurrence(rule, timezone, dueAt ?? remindAt);
    if (current.seriesId === null) result.seriesId = current.id;
  } else if (input.recurrence === null) {
    result.recurrence = null;
  }
  return result;
}

/**
 * The occurrence after `done` by `rule`, as a new task `id`: due (and reminded) as the rule says
 * in the task's time zone, the reminder keeping its local distance from the due date, the rule
 * handed on (`COUNT` counting down). Null when the series has ended, and when its next date
 * would fall after the latest time a task may hold (year 9999).
 */
export function nextOccurrenceOf(
  done: TaskRow,
  rule: string,
  id: string,
  position: number,
): NewTask | null {
  const zone = done.timezone ?? 'UTC';
  const anchor = done.dueAt ?? done.remindAt;
  if (anchor === null) return null;
  let next: ReturnType<typeof nextOccurrence>;
  try {
    next = nextOccurrence(rule, zone, anchor);
  } catch (error) {
    throw asProblem(error);
  }
  if (next === null) return null;
  const dueAt = done.dueAt === null ? null : next.at;
  const remindAt = done.remindAt === null ? null : shiftLike(anchor, next.at, done.remindAt, zone);
  if (dueAt !== null && dueAt.getTime() > LATEST_TIME) return null;
  if (remindAt !== null && remindAt.getTime() > LATEST_TIME) return null;
  return {
    id,
    projectId: done.projectId,
    parentId: done.parentId,
    title: done.title,
    description: done.description,
    status: 'todo',
    priority: done.priority,
    labels: done.labels,
    assigneeId: done.assigneeId,
    dueAt,
    remindAt,
    recurrence: next.rule,
    timezone: done.timezone,
    seriesId: done.seriesId ?? done.id,
    position,
    createdBy: done.createdBy,
  };
}
