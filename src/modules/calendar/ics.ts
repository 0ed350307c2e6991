import { Temporal } from 'temporal-polyfill';
import { isMidnight } from '../tasks/recurrence.js';

/** What the feed needs of a task. */
export interface CalendarTask {
  id: string;
  title: string;
  description: string;
  labels: string[];
  dueAt: Date;
  recurrence: string | null;
  timezone: string | null;
  updatedAt: Date;
}

export interface CalendarOptions {
  name: string;
  /** The host part of every UID, e.g. `tasks.example.com`. */
  host: string;
  /** A link to a task, for its URL property. */
  link: (taskId: string) => string;
  now: Date;
}

const CRLF = '\r\n';
/** Time zone rules are written out this many years past the current one. */
const YEARS_AHEAD = 20;

/** TEXT value escaping (RFC 5545 §3.3.11). Other control characters are dropped. */
export function escapeText(value: string): string {
  return (
    value
      .replace(/\\/g, '\\\\')
      .replace(/;/g, '\\;')
      .replace(/,/g, '\\,')
      .replace(/\r\n|\r|\n/g, '\\n')
      // eslint-disable-next-line no-control-regex -- control characters are what is removed
      .replace(/[\u0000-\u001f\u007f]/g, '')
  );
}

/**
 * Folds a content line into lines of at most 75 octets (RFC 5545 §3.1), never inside a UTF-8
 * sequence; each continuation starts with a space.
 */
export function foldLine(line: string): string {
  // Measured, not encoded: a large feed has tens of thousands of lines.
  if (Buffer.byteLength(line) <= 75) return line;
  const parts: string[] = [];
  let current = '';
  let size = 0;
  let limit = 75;
  for (const char of line) {
    const bytes = utf8Length(char.codePointAt(0) ?? 0);
    if (size + bytes > limit) {
      parts.push(current);
      current = '';
      size = 0;
      limit = 74;
    }
    current += char;
    size += bytes;
  }
  parts.push(current);
  return parts.join(`${CRLF} `);
}

function utf8Length(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint < 0x10000 ? 3 : 4;
}

const pad = (value: number, length = 2) => String(value).padStart(length, '0');

function utcStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function localStamp(value: Temporal.PlainDateTime | Temporal.ZonedDateTime): string {
  return `${pad(value.year, 4)}${pad(value.month)}${pad(value.day)}T${pad(value.hour)}${pad(value.minute)}${pad(value.second)}`;
}

function dateStamp(value: Temporal.PlainDate | Temporal.ZonedDateTime): string {
  return `${pad(value.year, 4)}${pad(value.month)}${pad(value.day)}`;
}

function offsetStamp(nanoseconds: number): string {
  const minutes = Math.round(nanoseconds / 60e9);
  const sign = minutes < 0 ? '-' : '+';
  const absolute = Math.abs(minutes);
  return `${sign}${pad(Math.floor(absolute / 60))}${pad(absolute % 60)}`;
}

function zoned(date: Date, zone: string): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(date.getTime()).toZonedDateTimeISO(zone);
}

/**
 * A VTIMEZONE for `zone` from `fromYear` on: one observance per offset change (taken from the
 * IANA data the runtime carries) up to `YEARS_AHEAD` years from now, so clients that do not know
 * the zone by name still place every occurrence right.
 */
export function vtimezone(zone: string, fromYear: number, now: Date): string[] {
  const end = Temporal.ZonedDateTime.from({
    timeZone: zone,
    year: zoned(now, zone).year + YEARS_AHEAD,
    month: 1,
    day: 1,
  });
  let cursor = Temporal.ZonedDateTime.from({ timeZone: zone, year: fromYear, month: 1, day: 1 });
  const lines = ['BEGIN:VTIMEZONE', `TZID:${zone}`];
  const first = offsetStamp(cursor.offsetNanoseconds);
  lines.push(
    'BEGIN:STANDARD',
    `DTSTART:${localStamp(cursor)}`,
    `TZOFFSETFROM:${first}`,
    `TZOFFSETTO:${first}`,
    'END:STANDARD',
  );
  for (;;) {
    const next = cursor.getTimeZoneTransition('next');
    if (next === null || Temporal.ZonedDateTime.compare(next, end) >= 0) break;
    const before = next.subtract({ nanoseconds: 1 });
    const kind = next.offsetNanoseconds > before.offsetNanoseconds ? 'DAYLIGHT' : 'STANDARD';
    // DTSTART is the local time of the change as the clocks showed it before the change.
    const onset = next
      .toInstant()
      .toZonedDateTimeISO('UTC')
      .toPlainDateTime()
      .add({ nanoseconds: before.offsetNanoseconds });
    lines.push(
      `BEGIN:${kind}`,
      `DTSTART:${localStamp(onset)}`,
      `TZOFFSETFROM:${offsetStamp(before.offsetNanoseconds)}`,
      `TZOFFSETTO:${offsetStamp(next.offsetNanoseconds)}`,
      `END:${kind}`,
    );
    cursor = next;
  }
  lines.push('END:VTIMEZONE');
  return lines;
}

/** UNTIL must have the value type of DTSTART: a date for all-day events, else UTC. */
function ruleFor(rule: string, allDay: boolean): string {
  return rule.replace(/UNTIL=(\d{8})(T\d{6}Z)?/, (_match, day: string, time?: string) =>
    allDay ? `UNTIL=${day}` : `UNTIL=${day}${time ?? 'T235959Z'}`,
  );
}

/** A task's due time in its zone, worked out once per task and feed. */
interface DueTime {
  zone: string;
  local: Temporal.ZonedDateTime;
  allDay: boolean;
}

/**
 * iCalendar years have four digits. A time near the end of year 9999 UTC can be in year 10000
 * in a zone east of UTC; such a task is written in UTC, which always fits.
 */
function dueTime(task: CalendarTask): DueTime {
  const inZone = task.timezone === null ? null : zoned(task.dueAt, task.timezone);
  if (task.timezone !== null && inZone !== null && inZone.year <= 9999) {
    return { zone: task.timezone, local: inZone, allDay: isMidnight(inZone) };
  }
  const utc = zoned(task.dueAt, 'UTC');
  return { zone: 'UTC', local: utc, allDay: isMidnight(utc) };
}

function eventLines(
  task: CalendarTask,
  { zone, local, allDay }: DueTime,
  options: CalendarOptions,
): string[] {
  const nextDay = local.toPlainDate().add({ days: 1 });
  const lines = [
    'BEGIN:VEVENT',
    `UID:${task.id}@${options.host}`,
    `DTSTAMP:${utcStamp(task.updatedAt)}`,
  ];
  if (allDay) {
    lines.push(
      `DTSTART;VALUE=DATE:${dateStamp(local)}`,
      // A date alone lasts one day (RFC 5545 §3.6.1); DTEND says so where its year fits.
      nextDay.year <= 9999 ? `DTEND;VALUE=DATE:${dateStamp(nextDay)}` : 'DURATION:P1D',
    );
  } else if (task.recurrence !== null && zone !== 'UTC') {
    // Recurring: in the task's zone, so every occurrence keeps its local time.
    lines.push(`DTSTART;TZID=${zone}:${localStamp(local)}`);
  } else {
    lines.push(`DTSTART:${utcStamp(task.dueAt)}`);
  }
  if (task.recurrence !== null) lines.push(`RRULE:${ruleFor(task.recurrence, allDay)}`);
  lines.push(`SUMMARY:${escapeText(task.title)}`);
  if (task.description !== '') lines.push(`DESCRIPTION:${escapeText(task.description)}`);
  if (task.labels.length > 0) {
    lines.push(`CATEGORIES:${task.labels.map((label) => escapeText(label)).join(',')}`);
  }
  lines.push(`URL:${options.link(task.id)}`, 'END:VEVENT');
  return lines;
}

/** An RFC 5545 calendar of `tasks`: CRLF line ends, folded lines, escaped text. */
export function buildCalendar(tasks: CalendarTask[], options: CalendarOptions): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Docket//Task calendar//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `X-WR-CALNAME:${escapeText(options.name)}`,
  ];
  const dated = tasks.map((task) => ({ task, due: dueTime(task) }));
  const zones = new Map<string, number>();
  for (const { task, due } of dated) {
    if (task.recurrence === null || due.zone === 'UTC' || due.allDay) continue;
    const { year } = due.local;
    zones.set(due.zone, Math.min(zones.get(due.zone) ?? year, year));
  }
  for (const [zone, year] of zones) lines.push(...vtimezone(zone, year, options.now));
  for (const { task, due } of dated) lines.push(...eventLines(task, due, options));
  lines.push('END:VCALENDAR');
  return lines.map(foldLine).join(CRLF) + CRLF;
}
