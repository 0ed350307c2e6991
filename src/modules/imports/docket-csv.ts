import type { TaskRow } from '../../db/schema/index.js';
import { unguardCell } from '../exports/task-csv.js';
import {
  canonicalTimezone,
  nextOccurrence,
  normaliseRecurrence,
  RECURRENCE_MAX_LENGTH,
  RecurrenceError,
  TIMEZONE_MAX_LENGTH,
} from '../tasks/recurrence.js';
import {
  checkLabels,
  checkParents,
  checkText,
  emptyPlan,
  type ImportPlan,
  parseDate,
  TEXT_MAX,
  TITLE_MAX,
} from './import-plan.js';

const STATUSES: readonly TaskRow['status'][] = ['todo', 'in_progress', 'done', 'canceled'];
const PRIORITIES: readonly TaskRow['priority'][] = ['none', 'low', 'medium', 'high', 'urgent'];
const REF_MAX = 100;

/** Labels as Docket writes them (a JSON array), or a plain comma-separated list. */
function splitLabels(cell: string): string[] | null {
  if (cell.trim() === '') return [];
  if (cell.trimStart().startsWith('[')) {
    try {
      const value: unknown = JSON.parse(cell);
      return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : null;
    } catch {
      return null;
    }
  }
  return cell.split(',');
}

/**
 * The `timezone` and `recurrence` cells checked as the task API checks them (a rule needs
 * `due_at` or `remind_at` to start from and a computable next occurrence); errors are recorded
 * with the API's codes, `invalid_timezone` and `invalid_recurrence`.
 */
function checkSeries(
  fail: (column: string, code: string, message: string) => void,
  ruleText: string,
  zoneText: string,
  anchor: Date | null,
): { recurrence: string | null; timezone: string | null } {
  let timezone: string | null = null;
  let zoneOk = true;
  if (zoneText !== '') {
    if (zoneText.length > TIMEZONE_MAX_LENGTH) {
      fail('timezone', 'too_long', `timezone is longer than ${TIMEZONE_MAX_LENGTH} characters.`);
      zoneOk = false;
    } else {
      try {
        timezone = canonicalTimezone(zoneText);
      } catch (error) {
        if (!(error instanceof RecurrenceError)) throw error;
        fail('timezone', 'invalid_timezone', `timezone ${error.message}.`);
        zoneOk = false;
      }
    }
  }
  if (ruleText === '') return { recurrence: null, timezone };
  if (ruleText.length > RECURRENCE_MAX_LENGTH) {
    fail(
      'recurrence',
      'too_long',
      `recurrence is longer than ${RECURRENCE_MAX_LENGTH} characters.`,
    );
    return { recurrence: null, timezone };
  }
  try {
    const rule = normaliseRecurrence(ruleText);
    if (anchor === null) {
      throw new RecurrenceError('recurrence', 'needs due_at or remind_at to start from');
    }
    // Without a valid zone there is nothing to compute the next occurrence in.
    if (zoneOk) nextOccurrence(rule, timezone ?? 'UTC', anchor);
    return { recurrence: rule, timezone };
  } catch (error) {
    if (!(error instanceof RecurrenceError)) throw error;
    fail('recurrence', 'invalid_recurrence', `recurrence ${error.message}.`);
    return { recurrence: null, timezone };
  }
}

/**
 * Reads Docket's own task CSV (see `TASK_CSV_COLUMNS`) by header name: `title` is required,
 * every other column optional, unknown columns ignored. `id` and `parent_id` only link rows of
 * the file to each other (imported tasks get new ids); so does `series_id`: rows that share one
 * share a new series (the new id of the row it names, when the file has that row). `assignee_email` must be a member of the
 * target project (`members`: lower-cased email → user id).
 */
export function planDocketCsv(
  records: string[][],
  members: Map<string, string>,
  { guarded = true, firstRow = 2 }: { guarded?: boolean; firstRow?: number } = {},
): ImportPlan {
  const plan = emptyPlan();
  const unguard = guarded ? unguardCell : (text: string): string => text;
  const header = (records[0] ?? []).map((name) => name.trim().toLowerCase());
  const at = new Map(header.map((name, index) => [name, index]));
  const ids = new Set<string>();

  for (let index = 1; index < records.length; index += 1) {
    const record = records[index] ?? [];
    const row = index - 1 + firstRow;
    if (record.every((cell) => cell.trim() === '')) continue;
    const cell = (name: string): string => {
      const position = at.get(name);
      return position === undefined ? '' : (record[position] ?? '');
    };
    const errorsBefore = plan.errors.length;
    const fail = (column: string, code: string, message: string): void => {
      plan.errors.push({ row, column, code, message });
    };

    const title = checkText(plan, row, 'title', unguard(cell('title')), {
      max: TITLE_MAX,
      required: true,
    });
    const description = checkText(plan, row, 'description', unguard(cell('description')), {
      max: TEXT_MAX,
      required: false,
    });

    const statusText = cell('status').trim().toLowerCase() || 'todo';
    const status = STATUSES.find((value) => value === statusText);
    if (status === undefined)
      fail('status', 'invalid_choice', `status must be one of: ${STATUSES.join(', ')}.`);
    const priorityText = cell('priority').trim().toLowerCase() || 'none';
    const priority = PRIORITIES.find((value) => value === priorityText);
    if (priority === undefined) {
      fail('priority', 'invalid_choice', `priority must be one of: ${PRIORITIES.join(', ')}.`);
    }

    const split = splitLabels(unguard(cell('labels')));
    if (split === null)
      fail(
        'labels',
        'invalid_format',
        'labels is neither a JSON array of strings nor a comma-separated list.',
      );
    const labels = split === null ? null : checkLabels(plan, row, 'labels', split);

    const dates: Record<'due_at' | 'remind_at' | 'completed_at', Date | null> = {
      due_at: null,
      remind_at: null,
      completed_at: null,
    };
    for (const column of ['due_at', 'remind_at', 'completed_at'] as const) {
      const text = cell(column).trim();
      if (text === '') continue;
      const parsed = parseDate(text);
      if (parsed === null)
        fail(
          column,
          'invalid_format',
          `${column} is not an ISO 8601 date-time from year 1000 to 9999.`,
        );
      dates[column] = parsed;
    }

    const { recurrence, timezone } = checkSeries(
      fail,
      cell('recurrence').trim(),
      cell('timezone').trim(),
      dates.due_at ?? dates.remind_at,
    );
    const seriesRef = cell('series_id').trim() || null;
    if (seriesRef !== null && seriesRef.length > REF_MAX)
      fail('series_id', 'too_long', `series_id is longer than ${REF_MAX} characters.`);

    let position: number | null = null;
    const positionText = cell('position').trim();
    if (positionText !== '') {
      position = Number(positionText);
      if (!Number.isFinite(position))
        fail('position', 'invalid_value', 'position is not a number.');
    }

    let assigneeId: string | null = null;
    const email = unguard(cell('assignee_email')).trim().toLowerCase();
    if (email !== '') {
      assigneeId = members.get(email) ?? null;
      if (assigneeId === null) {
        fail(
          'assignee_email',
          'not_a_member',
          `${email.slice(0, 254)} is not a member of the project.`,
        );
      }
    }

    const id = cell('id').trim();
    if (id.length > REF_MAX) fail('id', 'too_long', `id is longer than ${REF_MAX} characters.`);
    else if (id !== '' && ids.has(id))
      fail('id', 'duplicate', `id "${id}" appears on an earlier row.`);
    if (id !== '') ids.add(id);
    const parentRef = cell('parent_id').trim() || null;
    if (parentRef !== null && parentRef === id) {
      fail('parent_id', 'cycle', 'A task cannot be its own parent.');
    }

    if (plan.errors.length > errorsBefore) continue;
    plan.tasks.push({
      row,
      ref: id === '' ? `row:${row}` : `id:${id}`,
      parentRef: parentRef === null ? null : `id:${parentRef}`,
      title: title ?? '',
      description: description ?? '',
      status: status ?? 'todo',
      priority: priority ?? 'none',
      labels: labels ?? [],
      assigneeId,
      dueAt: dates.due_at,
      remindAt: dates.remind_at,
      completedAt: status === 'done' ? dates.completed_at : null,
      recurrence,
      timezone,
      seriesRef,
      position,
    });
  }
  // Rows that failed are not planned; a reference to one is not reported a second time.
  if (plan.errors.length === 0) checkParents(plan, 'parent_id');
  return plan;
}
