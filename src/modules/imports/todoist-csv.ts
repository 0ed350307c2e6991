import type { TaskRow } from '../../db/schema/index.js';
import {
  checkLabels,
  checkText,
  emptyPlan,
  type ImportPlan,
  LABEL_MAX,
  parseDate,
  TEXT_MAX,
  TITLE_MAX,
} from './import-plan.js';

/** Todoist's priority 4 is its highest (shown as p1); 1 is the default (p4, no priority). */
const PRIORITIES: Record<string, TaskRow['priority']> = {
  '1': 'none',
  '2': 'medium',
  '3': 'high',
  '4': 'urgent',
};
const INDENT_MAX = 5;
// Todoist writes a task's labels into its content as `@name`.
const INLINE_LABEL = /(^|\s)@([^\s@]+)/g;

/** Whether a header row is Todoist's CSV template export. */
export function isTodoistHeader(header: string[]): boolean {
  const names = new Set(header.map((name) => name.trim().toUpperCase()));
  return names.has('TYPE') && names.has('CONTENT');
}

/**
 * Reads Todoist's CSV template export (`TYPE, CONTENT, DESCRIPTION, PRIORITY, INDENT, AUTHOR,
 * RESPONSIBLE, DATE, DATE_LANG, TIMEZONE, …`):
 * - `task` rows are tasks: CONTENT the title (its `@labels` become labels), DESCRIPTION the
 *   description, PRIORITY 4…1 → urgent, high, medium, none; INDENT n > 1 makes the task a
 *   subtask of the nearest task above it with INDENT n − 1 (in the same section).
 * - `note` rows are comments on the task above them; a note above every task (a project
 *   comment) has no place in Docket and is skipped.
 * - `section` rows put the tasks below them under a label with the section's name.
 * - `meta` rows (view settings) and blank rows are skipped.
 * DATE is read when it is an ISO date or date-time (in TIMEZONE, else UTC); Todoist's natural
 * language dates ("every monday") are not, and the task is imported without a due date.
 * AUTHOR and RESPONSIBLE name Todoist accounts and are not mapped to Docket users.
 */
export function planTodoistCsv(records: string[][]): ImportPlan {
  const plan = emptyPlan();
  const header = (records[0] ?? []).map((name) => name.trim().toUpperCase());
  const at = new Map(header.map((name, index) => [name, index]));
  let section: string | null = null;
  // The last task seen at each indent level, for INDENT to hang subtasks on.
  let parents: string[] = [];
  let lastTask: string | null = null;

  for (let index = 1; index < records.length; index += 1) {
    const record = records[index] ?? [];
    const row = index + 1;
    if (record.every((cell) => cell.trim() === '')) continue;
    const cell = (name: string): string => {
      const position = at.get(name);
      return position === undefined ? '' : (record[position] ?? '');
    };
    const type = cell('TYPE').trim().toLowerCase();
    if (type === 'meta') {
      plan.skippedRows += 1;
      continue;
    }
    if (type === 'section') {
      const name = cell('CONTENT').trim();
      if (name === '') {
        plan.errors.push({
          row,
          column: 'CONTENT',
          code: 'missing',
          message: 'A section needs a name.',
        });
        continue;
      }
      section = [...name].slice(0, LABEL_MAX).join('').trim();
      parents = [];
      lastTask = null;
      continue;
    }
    if (type === 'note') {
      if (lastTask === null) {
        plan.skippedRows += 1;
        continue;
      }
      const body = checkText(plan, row, 'CONTENT', cell('CONTENT'), {
        max: TEXT_MAX,
        required: true,
      });
      if (body !== null) plan.comments.push({ row, taskRef: lastTask, body });
      continue;
    }
    if (type !== 'task') {
      plan.errors.push({
        row,
        column: 'TYPE',
        code: 'invalid_choice',
        message: 'TYPE must be one of: task, note, section, meta.',
      });
      continue;
    }

    const errorsBefore = plan.errors.length;
    const inline: string[] = [];
    const content = cell('CONTENT')
      .replace(INLINE_LABEL, (_match, space: string, label: string) => {
        inline.push(label);
        return space;
      })
      .replace(/\s{2,}/g, ' ')
      .trim();
    const title = checkText(plan, row, 'CONTENT', content, { max: TITLE_MAX, required: true });
    const description = checkText(plan, row, 'DESCRIPTION', cell('DESCRIPTION'), {
      max: TEXT_MAX,
      required: false,
    });
    const priorityText = cell('PRIORITY').trim() || '1';
    const priority = PRIORITIES[priorityText];
    if (priority === undefined) {
      plan.errors.push({
        row,
        column: 'PRIORITY',
        code: 'invalid_choice',
        message: 'PRIORITY must be 1, 2, 3 or 4.',
      });
    }
    const indentText = cell('INDENT').trim() || '1';
    const indent = /^\d+$/.test(indentText) ? Number(indentText) : NaN;
    let parentRef: string | null = null;
    if (!(indent >= 1 && indent <= INDENT_MAX)) {
      plan.errors.push({
        row,
        column: 'INDENT',
        code: 'invalid_value',
        message: `INDENT must be 1 to ${INDENT_MAX}.`,
      });
    } else if (indent > 1) {
      parentRef = parents[indent - 2] ?? null;
      if (parentRef === null) {
        plan.errors.push({
          row,
          column: 'INDENT',
          code: 'invalid_indent',
          message: `INDENT ${indent} follows no task with INDENT ${indent - 1}.`,
        });
      }
    }
    const labels = checkLabels(
      plan,
      row,
      'CONTENT',
      section === null ? inline : [section, ...inline],
    );

    let dueAt: Date | null = null;
    const dateText = cell('DATE').trim();
    if (dateText !== '') {
      dueAt = parseDate(dateText, cell('TIMEZONE').trim() || null);
      if (dueAt === null) plan.ignoredDates += 1;
    }

    const ref = `row:${row}`;
    if (plan.errors.length > errorsBefore) {
      // Later rows still hang on this one, so their own mistakes are reported, not this one's.
      if (indent >= 1 && indent <= INDENT_MAX) parents = [...parents.slice(0, indent - 1), ref];
      lastTask = null;
      continue;
    }
    parents = [...parents.slice(0, indent - 1), ref];
    lastTask = ref;
    plan.tasks.push({
      row,
      ref,
      parentRef,
      title: title ?? '',
      description: description ?? '',
      status: 'todo',
      priority: priority ?? 'none',
      labels: labels ?? [],
      assigneeId: null,
      dueAt,
      remindAt: null,
      completedAt: null,
      position: null,
    });
  }
  return plan;
}
