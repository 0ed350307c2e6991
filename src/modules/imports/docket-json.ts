import type { JobRowError } from '../../db/schema/index.js';
import { TASK_CSV_COLUMNS } from '../exports/task-csv.js';
import { planDocketCsv } from './docket-csv.js';
import { type ImportPlan, TEXT_MAX } from './import-plan.js';

/** The `format` of Docket's JSON project export. */
export const DOCKET_EXPORT_FORMAT = 'docket.project-export';
const VERSION = 1;

interface DocketExport {
  members: unknown[];
  tasks: unknown[];
  comments: unknown[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The export's outer shape, or why it is not one (for the 422 answered at upload): an object
 * with `format: "docket.project-export"`, `version: 1` and `tasks` an array (`members` and
 * `comments`, when present, arrays too).
 */
export function readDocketExport(content: string): DocketExport | string {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (error) {
    return `The body is not valid JSON: ${(error as Error).message.slice(0, 200)}`;
  }
  if (!isObject(value) || value.format !== DOCKET_EXPORT_FORMAT) {
    return `The JSON is not a Docket project export (\`format: "${DOCKET_EXPORT_FORMAT}"\`).`;
  }
  if (value.version !== VERSION) return `Only version ${VERSION} of the export is read.`;
  const { members = [], tasks, comments = [] } = value;
  if (!Array.isArray(tasks) || !Array.isArray(members) || !Array.isArray(comments)) {
    return '`tasks`, `members` and `comments` must be arrays.';
  }
  return { members, tasks, comments };
}

// The task fields read, as the CSV column each becomes (`assignee_id` via the file's members).
const TEXT_FIELDS = TASK_CSV_COLUMNS.filter(
  (column) => column !== 'labels' && column !== 'position' && column !== 'assignee_email',
);

/**
 * Reads Docket's JSON project export: each task as the CSV row it would have been (so the same
 * checks apply, without the CSV formula guard), `assignee_id` mapped to the member with the same
 * email in the target project, and the comments of the file's tasks. `row` is the 1-based
 * index in `tasks`, or in `comments` for the `comments.*` columns.
 */
export function planDocketJson(content: string, members: Map<string, string>): ImportPlan {
  const file = readDocketExport(content);
  if (typeof file === 'string') {
    return {
      tasks: [],
      comments: [],
      errors: [{ row: 1, column: null, code: 'unknown_format', message: file }],
      skippedRows: 0,
      ignoredDates: 0,
    };
  }
  const emails = new Map<string, string>();
  for (const member of file.members) {
    if (isObject(member) && typeof member.user_id === 'string' && typeof member.email === 'string')
      emails.set(member.user_id, member.email);
  }

  const errors: JobRowError[] = [];
  const header = [...TASK_CSV_COLUMNS];
  const records: string[][] = [header];
  file.tasks.forEach((task, index) => {
    const row = index + 1;
    const record = header.map(() => '');
    records.push(record);
    if (!isObject(task)) {
      errors.push({ row, column: null, code: 'invalid_type', message: 'A task is not an object.' });
      return;
    }
    const set = (column: string, value: string): void => {
      record[header.indexOf(column as (typeof header)[number])] = value;
    };
    const wrong = (column: string, expected: string): void => {
      errors.push({ row, column, code: 'invalid_type', message: `${column} must be ${expected}.` });
    };
    for (const column of TEXT_FIELDS) {
      const value = task[column];
      if (typeof value === 'string') set(column, value);
      else if (value != null) wrong(column, 'a string or null');
    }
    if (task.labels != null) {
      if (Array.isArray(task.labels)) set('labels', JSON.stringify(task.labels));
      else wrong('labels', 'an array of strings');
    }
    if (typeof task.position === 'number') set('position', String(task.position));
    else if (task.position != null) wrong('position', 'a number');
    if (typeof task.assignee_id === 'string') {
      const email = emails.get(task.assignee_id);
      if (email === undefined) {
        errors.push({
          row,
          column: 'assignee_id',
          code: 'not_a_member',
          message: 'assignee_id is not one of the members the file lists.',
        });
      } else set('assignee_email', email);
    } else if (task.assignee_id != null) wrong('assignee_id', 'a string or null');
  });

  const plan = planDocketCsv(records, members, { guarded: false, firstRow: 1 });
  const refs = new Set(plan.tasks.map((task) => task.ref));
  const tasksRefused = plan.errors.length + errors.length > 0;
  file.comments.forEach((comment, index) => {
    const row = index + 1;
    if (!isObject(comment)) {
      errors.push({
        row,
        column: 'comments',
        code: 'invalid_type',
        message: 'A comment is not an object.',
      });
      return;
    }
    const { task_id: taskId, body } = comment;
    if (typeof body !== 'string' || body === '') {
      errors.push({
        row,
        column: 'comments.body',
        code: 'missing',
        message: 'A comment needs a body.',
      });
    } else if ([...body].length > TEXT_MAX) {
      errors.push({
        row,
        column: 'comments.body',
        code: 'too_long',
        message: `A comment is longer than ${TEXT_MAX} characters.`,
      });
    } else if (typeof taskId !== 'string' || !refs.has(`id:${taskId}`)) {
      // A task refused above is reported there; its comments need no second report.
      if (!tasksRefused) {
        errors.push({
          row,
          column: 'comments.task_id',
          code: 'unknown_task',
          message: 'task_id is not the id of a task in this file.',
        });
      }
    } else {
      plan.comments.push({ row, taskRef: `id:${taskId}`, body });
    }
  });
  plan.errors = [...plan.errors, ...errors].sort(
    (a, b) =>
      Number(a.column?.startsWith('comments') ?? false) -
        Number(b.column?.startsWith('comments') ?? false) || a.row - b.row,
  );
  return plan;
}
