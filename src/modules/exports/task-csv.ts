import type { TaskRow } from '../../db/schema/index.js';

/**
 * The columns of Docket's task CSV, in order. Stable: new columns are only ever appended, so
 * a reader that goes by header names (our import does) keeps working with older and newer
 * files, and unknown columns are ignored on import.
 */
export const TASK_CSV_COLUMNS = [
  'id',
  'parent_id',
  'title',
  'description',
  'status',
  'priority',
  'labels',
  'assignee_email',
  'due_at',
  'remind_at',
  'completed_at',
  'position',
  'created_at',
  'updated_at',
  'recurrence',
  'timezone',
  'series_id',
] as const;

export type TaskCsvColumn = (typeof TASK_CSV_COLUMNS)[number];

// A spreadsheet runs a cell starting with one of these as a formula (CSV injection). Leading
// quotes are counted in, so a text that itself starts with quotes survives the round trip.
const FORMULA_START = /^'*[=+\-@\t\r]/;
const GUARDED = /^'+[=+\-@\t\r]/;

/**
 * Free text as a CSV cell: a cell that a spreadsheet would read as a formula gets a leading
 * `'`, which spreadsheets show as text. `unguardCell` undoes it on import.
 */
export function guardCell(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

export function unguardCell(text: string): string {
  return GUARDED.test(text) ? text.slice(1) : text;
}

/** Labels as one cell: a JSON array, which no label's characters can break. */
export function labelsCell(labels: string[]): string {
  return labels.length === 0 ? '' : JSON.stringify(labels);
}

const iso = (value: Date | null): string => value?.toISOString() ?? '';

/** One task as a CSV record, in `TASK_CSV_COLUMNS` order. */
export function taskCsvRecord(task: TaskRow, assigneeEmail: string | null): string[] {
  const cells: Record<TaskCsvColumn, string> = {
    id: task.id,
    parent_id: task.parentId ?? '',
    title: guardCell(task.title),
    description: guardCell(task.description),
    status: task.status,
    priority: task.priority,
    labels: guardCell(labelsCell(task.labels)),
    assignee_email: guardCell(assigneeEmail ?? ''),
    due_at: iso(task.dueAt),
    remind_at: iso(task.remindAt),
    completed_at: iso(task.completedAt),
    position: String(task.position),
    created_at: iso(task.createdAt),
    updated_at: iso(task.updatedAt),
    recurrence: task.recurrence ?? '',
    timezone: task.timezone ?? '',
    series_id: task.seriesId ?? '',
  };
  return TASK_CSV_COLUMNS.map((column) => cells[column]);
}
