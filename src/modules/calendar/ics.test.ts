import { describe, expect, it } from 'vitest';
import { buildCalendar, escapeText, foldLine, vtimezone } from './ics.js';

describe('iCalendar text', () => {
  it('when text has commas, semicolons, backslashes and newlines, then each is escaped', () => {
    expect(escapeText('a,b;c\\d\r\ne\nf\u0007')).toBe('a\\,b\\;c\\\\d\\ne\\nf');
  });

  it('when a line is longer than 75 octets, then it is folded without splitting a character', () => {
    const line = `SUMMARY:${'é🌱'.repeat(40)}`;
    const folded = foldLine(line);
    const parts = folded.split('\r\n');
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(75);
    expect(parts.slice(1).every((part) => part.startsWith(' '))).toBe(true);
    expect(parts.map((part, i) => (i === 0 ? part : part.slice(1))).join('')).toBe(line);
    expect(foldLine('SHORT:x')).toBe('SHORT:x');
  });

  it('when a zone changes its offset, then VTIMEZONE names each change in local time before it', () => {
    const lines = vtimezone('Europe/Berlin', 2026, new Date('2026-01-01T00:00:00Z'));
    const spring = lines.indexOf('DTSTART:20260329T020000');
    expect(spring).toBeGreaterThan(0);
    expect(lines[spring - 1]).toBe('BEGIN:DAYLIGHT');
    expect(lines[spring + 1]).toBe('TZOFFSETFROM:+0100');
    expect(lines[spring + 2]).toBe('TZOFFSETTO:+0200');
    expect(lines).toContain('DTSTART:20261025T030000');
  });

  it('when an all-day task recurs until a time, then UNTIL becomes a date', () => {
    const body = buildCalendar(
      [
        {
          id: '0192f5c4-7d2e-7c1a-9a55-3c1e2b7f9d10',
          title: 'Bins',
          description: '',
          labels: [],
          dueAt: new Date('2026-05-01T00:00:00Z'),
          recurrence: 'FREQ=WEEKLY;UNTIL=20260601T120000Z',
          timezone: null,
          updatedAt: new Date('2026-04-01T10:00:00.123Z'),
        },
      ],
      { name: 'x', host: 'h', link: (id) => `https://h/tasks/${id}`, now: new Date() },
    );
    expect(body).toContain('DTSTART;VALUE=DATE:20260501\r\n');
    expect(body).toContain('RRULE:FREQ=WEEKLY;UNTIL=20260601\r\n');
    expect(body).toContain('DTSTAMP:20260401T100000Z\r\n');
  });
});
