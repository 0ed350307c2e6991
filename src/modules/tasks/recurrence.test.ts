import { describe, expect, it } from 'vitest';
import {
  canonicalTimezone,
  isDateOnly,
  nextOccurrence,
  normaliseRecurrence,
  RecurrenceError,
  shiftLike,
} from './recurrence.js';

const at = (iso: string) => new Date(iso);

describe('recurrence', () => {
  it('when a weekly 09:00 Europe/Berlin rule crosses the spring change, then it stays 09:00 local', () => {
    // 2026-03-23 is a Monday at UTC+1; Berlin moves to UTC+2 on 2026-03-29.
    const next = nextOccurrence(
      'FREQ=WEEKLY;BYDAY=MO',
      'Europe/Berlin',
      at('2026-03-23T08:00:00Z'),
    );
    expect(next?.at.toISOString()).toBe('2026-03-30T07:00:00.000Z');
  });

  it('when a monthly rule asks for day 31, then months without one are skipped', () => {
    const dates: string[] = [];
    let anchor = at('2026-01-31T09:00:00Z');
    for (let i = 0; i < 4; i += 1) {
      anchor = nextOccurrence('FREQ=MONTHLY;BYMONTHDAY=31', 'UTC', anchor)!.at;
      dates.push(anchor.toISOString().slice(0, 10));
    }
    expect(dates).toEqual(['2026-03-31', '2026-05-31', '2026-07-31', '2026-08-31']);
  });

  it('when COUNT is given, then it counts down and the last occurrence has no successor', () => {
    const next = nextOccurrence('FREQ=DAILY;COUNT=3', 'UTC', at('2026-01-01T00:00:00Z'));
    expect(next?.rule).toBe('FREQ=DAILY;COUNT=2');
    expect(nextOccurrence('FREQ=DAILY;COUNT=1', 'UTC', at('2026-01-01T00:00:00Z'))).toBeNull();
  });

  it('when UNTIL has passed, then the series ends', () => {
    expect(
      nextOccurrence('FREQ=DAILY;UNTIL=20260101T000000Z', 'UTC', at('2026-02-01T00:00:00Z')),
    ).toBeNull();
  });

  it('when a rule never matches, then computing it is refused instead of searching for ever', () => {
    expect(() =>
      nextOccurrence('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', 'UTC', at('2026-01-01T00:00:00Z')),
    ).toThrow(RecurrenceError);
  });

  it.each([
    ['FREQ=SECONDLY', /not supported/],
    ['FREQ=MINUTELY', /not supported/],
    ['FREQ=HOURLY', /not supported/],
    ['FREQ=WEEKLY;FOO=1', /not a supported/],
    ['FREQ=MONTHLY;BYMONTHDAY=32', /out of range/],
    ['FREQ=MONTHLY;BYMONTHDAY=0', /cannot be 0/],
    ['FREQ=WEEKLY;BYDAY=XX', /invalid value/],
    ['FREQ=DAILY;FREQ=WEEKLY', /twice/],
    ['INTERVAL=2', /FREQ is required/],
    ['FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z', /both/],
    ['FREQ=DAILY;INTERVAL=0', /out of range/],
    ['', /not a supported/],
  ])('when the rule is %s, then it is refused', (rule, message) => {
    expect(() => normaliseRecurrence(rule)).toThrow(message);
  });

  it('when a rule is lower case or prefixed, then it is stored in canonical form', () => {
    expect(normaliseRecurrence(' rrule:freq=weekly;byday=mo,we ')).toBe('FREQ=WEEKLY;BYDAY=MO,WE');
  });

  it('when a time zone is an alias or mis-cased, then its canonical name is kept; offsets and unknown names are refused', () => {
    expect(canonicalTimezone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimezone('UTC')).toBe('UTC');
    expect(() => canonicalTimezone('+01:00')).toThrow(RecurrenceError);
    expect(() => canonicalTimezone('Mars/Olympus')).toThrow(RecurrenceError);
  });

  it('when the due date moves across a DST change, then the reminder keeps its local distance', () => {
    // Due Monday 09:00, reminded Sunday 18:00 (both UTC+1); a week later both are UTC+2.
    const shifted = shiftLike(
      at('2026-03-23T08:00:00Z'),
      at('2026-03-30T07:00:00Z'),
      at('2026-03-22T17:00:00Z'),
      'Europe/Berlin',
    );
    expect(shifted.toISOString()).toBe('2026-03-29T16:00:00.000Z');
  });

  it('when a due time is local midnight, then it is a date without a time', () => {
    expect(isDateOnly(at('2026-03-22T23:00:00Z'), 'Europe/Berlin')).toBe(true);
    expect(isDateOnly(at('2026-03-23T00:00:00Z'), 'Europe/Berlin')).toBe(false);
    expect(isDateOnly(at('2026-03-23T00:00:00Z'), 'UTC')).toBe(true);
  });
});
