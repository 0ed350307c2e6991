import { RRuleTemporal } from 'rrule-temporal';
import { Temporal } from 'temporal-polyfill';

/** The longest RRULE value accepted. */
export const RECURRENCE_MAX_LENGTH = 500;
export const TIMEZONE_MAX_LENGTH = 64;

/*
 * A task recurs at most daily: sub-daily rules would make a completion chase the clock and
 * flood calendar apps. Searching the next occurrence is capped, so a rule that never (or only
 * very rarely) matches is refused when it is saved instead of costing time at every completion.
 */
const FREQUENCIES = new Set(['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']);
const MAX_ITERATIONS = 2_000;
const MAX_CANDIDATES = 50_000;

const INTEGER_LIST = /^[+-]?\d{1,3}(,[+-]?\d{1,3})*$/;
const WEEKDAY = '(MO|TU|WE|TH|FR|SA|SU)';
const PARTS: Record<string, { pattern: RegExp; min?: number; max?: number; nonZero?: boolean }> = {
  FREQ: { pattern: /^[A-Z]+$/ },
  INTERVAL: { pattern: /^\d{1,4}$/, min: 1, max: 1000 },
  COUNT: { pattern: /^\d{1,4}$/, min: 1, max: 1000 },
  UNTIL: { pattern: /^\d{8}(T\d{6}Z)?$/ },
  BYDAY: { pattern: new RegExp(`^([+-]?\\d{1,2})?${WEEKDAY}(,([+-]?\\d{1,2})?${WEEKDAY})*$`) },
  BYMONTHDAY: { pattern: INTEGER_LIST, min: -31, max: 31, nonZero: true },
  BYYEARDAY: { pattern: INTEGER_LIST, min: -366, max: 366, nonZero: true },
  BYWEEKNO: { pattern: INTEGER_LIST, min: -53, max: 53, nonZero: true },
  BYMONTH: { pattern: INTEGER_LIST, min: 1, max: 12 },
  BYSETPOS: { pattern: INTEGER_LIST, min: -366, max: 366, nonZero: true },
  BYHOUR: { pattern: INTEGER_LIST, min: 0, max: 23 },
  BYMINUTE: { pattern: INTEGER_LIST, min: 0, max: 59 },
  WKST: { pattern: new RegExp(`^${WEEKDAY}$`) },
};

/** A rule or time zone that cannot be used; `message` says why, for the 422 answer. */
export class RecurrenceError extends Error {
  constructor(
    readonly field: 'recurrence' | 'timezone',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RecurrenceError';
  }
}

/**
 * The canonical IANA name of `zone` (`europe/berlin` → `Europe/Berlin`, `US/Pacific` →
 * `America/Los_Angeles`), or a `RecurrenceError`. Fixed offsets such as `+01:00` are refused:
 * they know nothing of daylight saving time.
 */
export function canonicalTimezone(zone: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) {
    throw new RecurrenceError('timezone', 'must be an IANA time zone name, e.g. Europe/Berlin');
  }
  try {
    return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new RecurrenceError('timezone', `"${zone}" is not a known IANA time zone`);
  }
}

/**
 * Checks an RRULE value (RFC 5545 §3.3.10) part by part and returns it in canonical form
 * (upper case, no `RRULE:` prefix). The library behind the arithmetic quietly ignores parts it
 * does not know and values out of range, so this is where a bad rule is caught.
 */
export function normaliseRecurrence(input: string): string {
  const rule = input
    .trim()
    .toUpperCase()
    .replace(/^RRULE:/, '');
  const seen = new Set<string>();
  for (const part of rule.split(';')) {
    const [name = '', value, ...rest] = part.split('=');
    const spec = PARTS[name];
    if (spec === undefined) {
      throw new RecurrenceError(
        'recurrence',
        name === 'BYSECOND'
          ? 'BYSECOND is not supported: a task recurs at most daily'
          : `"${name}" is not a supported RRULE part`,
      );
    }
    if (value === undefined || rest.length > 0 || !spec.pattern.test(value)) {
      throw new RecurrenceError('recurrence', `${name} has an invalid value`);
    }
    if (seen.has(name)) throw new RecurrenceError('recurrence', `${name} is given twice`);
    seen.add(name);
    if (spec.min !== undefined || spec.max !== undefined) {
      for (const number of value.split(',').map(Number)) {
        if (number < (spec.min ?? -Infinity) || number > (spec.max ?? Infinity)) {
          throw new RecurrenceError('recurrence', `${name} is out of range`);
        }
        if (spec.nonZero && number === 0) {
          throw new RecurrenceError('recurrence', `${name} cannot be 0`);
        }
      }
    }
  }
  const freq = /(?:^|;)FREQ=([A-Z]+)/.exec(rule)?.[1];
  if (freq === undefined) throw new RecurrenceError('recurrence', 'FREQ is required');
  if (!FREQUENCIES.has(freq)) {
    throw new RecurrenceError(
      'recurrence',
      `FREQ=${freq} is not supported: a task recurs DAILY, WEEKLY, MONTHLY or YEARLY`,
    );
  }
  if (seen.has('COUNT') && seen.has('UNTIL')) {
    throw new RecurrenceError('recurrence', 'COUNT and UNTIL cannot both be given');
  }
  return rule;
}

function part(rule: string, name: string): string | undefined {
  return new RegExp(`(?:^|;)${name}=([^;]+)`).exec(rule)?.[1];
}

function withoutPart(rule: string, name: string): string {
  return rule
    .split(';')
    .filter((piece) => !piece.startsWith(`${name}=`))
    .join(';');
}

export interface Occurrence {
  /** When the next occurrence is due. */
  at: Date;
  /** The rule the next occurrence carries: `COUNT` counts down the occurrences still to come. */
  rule: string;
}

/**
 * The occurrence after `anchor` (the current occurrence's due time) by `rule`, computed in
 * `timezone`: wall-clock times stay put across daylight saving changes (09:00 Europe/Berlin
 * stays 09:00) and days a month lacks are skipped (`BYMONTHDAY=31`). Null when the series has
 * ended (`UNTIL` passed, `COUNT` used up). A rule whose next occurrence cannot be found within
 * the search budget throws a `RecurrenceError`.
 *
 * `COUNT=n` on a stored task means n occurrences from this one on, so the next one gets n - 1.
 */
export function nextOccurrence(rule: string, timezone: string, anchor: Date): Occurrence | null {
  const count = part(rule, 'COUNT');
  if (count !== undefined && Number(count) <= 1) return null;
  const open = count === undefined ? rule : withoutPart(rule, 'COUNT');
  const start = Temporal.Instant.fromEpochMilliseconds(anchor.getTime()).toZonedDateTimeISO(
    timezone,
  );
  let next: { epochMilliseconds: number } | null;
  try {
    const recurrence = new RRuleTemporal({
      rruleString: open,
      dtstart: start,
      tzid: timezone,
      maxIterations: MAX_ITERATIONS,
      maxCandidateEvaluations: MAX_CANDIDATES,
      cache: false,
    });
    next = recurrence.next(start, false);
  } catch (error) {
    // The library's own text names its loop limits (`Maximum iterations (2000) exceeded in
    // all()`), which tells a client nothing; the cause stays on the error for the log.
    throw new RecurrenceError(
      'recurrence',
      'has no next occurrence that can be found: the rule may never match (e.g. BYMONTH=2;BYMONTHDAY=30)',
      { cause: error },
    );
  }
  if (next === null) return null;
  return {
    at: new Date(next.epochMilliseconds),
    rule: count === undefined ? rule : `${open};COUNT=${Number(count) - 1}`,
  };
}

/**
 * `other` moved by the same wall-clock distance as `from` → `to` in `timezone`: a reminder set
 * the evening before a due date stays the evening before, at the same local time, across a
 * daylight saving change.
 */
export function shiftLike(from: Date, to: Date, other: Date, timezone: string): Date {
  const zoned = (date: Date) =>
    Temporal.Instant.fromEpochMilliseconds(date.getTime()).toZonedDateTimeISO(timezone);
  const distance = zoned(from).until(zoned(to), { largestUnit: 'days' });
  return new Date(zoned(other).add(distance).epochMilliseconds);
}

/** Whether `date` is local midnight in `timezone`: such a due date has no time of day. */
export function isDateOnly(date: Date, timezone: string): boolean {
  return isMidnight(
    Temporal.Instant.fromEpochMilliseconds(date.getTime()).toZonedDateTimeISO(timezone),
  );
}

/** `isDateOnly` of a time already placed in its zone. */
export function isMidnight(local: Temporal.ZonedDateTime): boolean {
  return local.hour === 0 && local.minute === 0 && local.second === 0 && local.millisecond === 0;
}
