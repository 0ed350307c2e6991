import type { JobRowError, TaskRow } from '../../db/schema/index.js';
import { EARLIEST_TIME, LATEST_TIME } from '../../lib/schema-types.js';

/** A task to create, as read from one row. */
export interface PlannedTask {
  row: number;
  /** The row's own key, for subtasks and comments to point at. */
  ref: string;
  parentRef: string | null;
  title: string;
  description: string;
  status: TaskRow['status'];
  priority: TaskRow['priority'];
  labels: string[];
  assigneeId: string | null;
  dueAt: Date | null;
  remindAt: Date | null;
  completedAt: Date | null;
  /** A checked RRULE value in canonical form, or null. */
  recurrence?: string | null;
  /** A canonical IANA time zone name, or null (UTC). */
  timezone?: string | null;
  /**
   * The file's series key: the tasks that share one keep sharing a series after the import.
   * Null: a recurring task starts its own series.
   */
  seriesRef?: string | null;
  /** Null: after the tasks already there, in file order. */
  position: number | null;
}

export interface PlannedComment {
  row: number;
  taskRef: string;
  body: string;
}

/** What a file would do, or why it cannot: an import applies only a plan without errors. */
export interface ImportPlan {
  tasks: PlannedTask[];
  comments: PlannedComment[];
  errors: JobRowError[];
  /** Rows read but deliberately not imported (e.g. Todoist's view settings). */
  skippedRows: number;
  /** Dates in a form this import does not read; the task is imported without one. */
  ignoredDates: number;
}

export function emptyPlan(): ImportPlan {
  return { tasks: [], comments: [], errors: [], skippedRows: 0, ignoredDates: 0 };
}

export const TITLE_MAX = 255;
export const TEXT_MAX = 10_000;
export const LABEL_MAX = 50;
export const LABELS_MAX = 20;

/** Required text with a length limit; records an error and returns null when it fails. */
export function checkText(
  plan: ImportPlan,
  row: number,
  column: string,
  value: string,
  { max, required }: { max: number; required: boolean },
): string | null {
  if (required && value.trim() === '') {
    plan.errors.push({ row, column, code: 'missing', message: `${column} is required.` });
    return null;
  }
  if ([...value].length > max) {
    plan.errors.push({
      row,
      column,
      code: 'too_long',
      message: `${column} is longer than ${max} characters.`,
    });
    return null;
  }
  return value;
}

/** Labels as given, checked against the task rules; duplicates are merged. */
export function checkLabels(
  plan: ImportPlan,
  row: number,
  column: string,
  labels: string[],
): string[] | null {
  const unique = [...new Set(labels.map((label) => label.trim()).filter((label) => label !== ''))];
  const long = unique.find((label) => [...label].length > LABEL_MAX);
  if (long !== undefined) {
    plan.errors.push({
      row,
      column,
      code: 'too_long',
      message: `The label "${long.slice(0, 60)}" is longer than ${LABEL_MAX} characters.`,
    });
    return null;
  }
  if (unique.length > LABELS_MAX) {
    plan.errors.push({
      row,
      column,
      code: 'too_many',
      message: `A task has at most ${LABELS_MAX} labels.`,
    });
    return null;
  }
  return unique;
}

/**
 * Orders the tasks so every parent comes before its subtasks, and reports references to
 * tasks the file does not have and parent chains that loop.
 */
export function checkParents(plan: ImportPlan, column: string): void {
  const byRef = new Map(plan.tasks.map((task) => [task.ref, task]));
  const depth = new Map<string, number>();
  const depthOf = (task: PlannedTask): number | null => {
    const seen = new Set<string>();
    let current: PlannedTask | undefined = task;
    let hops = 0;
    while (current?.parentRef != null) {
      const known = depth.get(current.ref);
      if (known !== undefined) return known + hops;
      if (seen.has(current.ref)) return null;
      seen.add(current.ref);
      current = byRef.get(current.parentRef);
      hops += 1;
    }
    return hops;
  };
  for (const task of plan.tasks) {
    if (task.parentRef === null) continue;
    if (!byRef.has(task.parentRef)) {
      plan.errors.push({
        row: task.row,
        column,
        code: 'unknown_parent',
        message: `${column} "${task.parentRef.replace(/^id:/, '').slice(0, 60)}" is not the id of a task in this file.`,
      });
      continue;
    }
    const found = depthOf(task);
    if (found === null) {
      plan.errors.push({
        row: task.row,
        column,
        code: 'cycle',
        message: 'The parent chain of this task loops back to itself.',
      });
      continue;
    }
    depth.set(task.ref, found);
  }
  if (plan.errors.length === 0) {
    // Stable: tasks of one depth keep their file order.
    plan.tasks = plan.tasks
      .map((task, index) => ({ task, index, depth: depth.get(task.ref) ?? 0 }))
      .sort((a, b) => a.depth - b.depth || a.index - b.index)
      .map(({ task }) => task);
  }
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

// A formatter takes about a quarter of a millisecond to build and a file's dates share a few
// zones: each is built once. Zone names are case-insensitive, so the known ones bound the keys.
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  const key = timeZone.toLowerCase();
  let format = zoneFormats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    zoneFormats.set(key, format);
  }
  return format;
}

/** Offset of `timeZone` from UTC at the instant `utcMs`, in milliseconds. */
function zoneOffsetMs(timeZone: string, utcMs: number): number {
  const format = zoneFormat(timeZone);
  const parts = Object.fromEntries(
    format.formatToParts(new Date(utcMs)).map((part) => [part.type, part.value]),
  );
  const local = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return local - Math.floor(utcMs / 1000) * 1000;
}

/**
 * An ISO 8601 date or date-time. A date alone is midnight UTC; a time without an offset is
 * read in `timeZone` (IANA) when one is given, else in UTC. Null when the text is not one, or
 * is outside the years 1000 to 9999 in UTC that a task's times may hold.
 */
export function parseDate(text: string, timeZone: string | null = null): Date | null {
  const date = parseIsoDate(text, timeZone);
  if (date === null) return null;
  const time = date.getTime();
  return time >= EARLIEST_TIME && time <= LATEST_TIME ? date : null;
}

function parseIsoDate(text: string, timeZone: string | null): Date | null {
  const match = ISO_DATE.exec(text.trim());
  if (match === null) return null;
  const [, y, mo, d, h, mi, s, frac, offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    return null;
  // Date.UTC reads a year below 100 as 19xx; such years are out of range anyway.
  if (year < 1000) return null;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(local);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  if (offset !== undefined) {
    if (offset.toUpperCase() === 'Z') return new Date(local);
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    return new Date(local - sign * minutes * 60_000);
  }
  if (h === undefined || timeZone === null || timeZone === '') return new Date(local);
  try {
    // Two steps settle the offset on either side of a DST change.
    const guess = local - zoneOffsetMs(timeZone, local);
    return new Date(local - zoneOffsetMs(timeZone, guess));
  } catch {
    return new Date(local);
  }
}
