import { describe, expect, it } from 'vitest';
import { createValidators, isStorableDateTime } from './ajv.js';

describe('the date-time format', () => {
  it.each([
    '2026-11-23T21:00:00.000Z',
    '2026-11-23T21:00:00+14:00',
    '2026-11-23t21:00:00z',
    '1000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59+00:00',
  ])('when it is %s, then it is accepted', (value) => {
    expect(isStorableDateTime(value)).toBe(true);
  });

  it.each([
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['a year the database reads back as 20xx', '0001-01-01T00:00:00Z'],
    ['before year 1000 in UTC by its offset', '1000-01-01T00:30:00+01:00'],
    ['past year 9999 in UTC by its offset', '9999-12-31T23:00:00-05:00'],
    ['without an offset', '2026-11-23T21:00:00'],
    ['a day that does not exist', '2026-02-30T00:00:00Z'],
    ['a six-digit year', '+010000-01-01T00:00:00.000Z'],
  ])('when it is %s (%s), then it is refused', (_name, value) => {
    expect(isStorableDateTime(value)).toBe(false);
  });

  it('when a schema names the format, then both validators use this check', () => {
    const { body, text } = createValidators();
    for (const ajv of [body, text]) {
      const validate = ajv.compile({ type: 'string', format: 'date-time' });
      expect(validate('2026-11-23T21:00:00.000Z')).toBe(true);
      expect(validate('2016-12-31T23:59:60Z')).toBe(false);
    }
  });
});
