import ICAL from 'ical.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';
import {
  expectBodiesRefused,
  expectCredentialsRefused,
  expectProblem,
} from '../helpers/refusals.js';

const PUBLIC_URL = 'https://tasks.example.com';
const t = useTestApp({ config: { workers: false, publicUrl: PUBLIC_URL }, captureLogs: true });
let owner: TestUser;
let viewer: TestUser;
let projectId: string;

beforeAll(async () => {
  owner = await createUser(t.app);
  viewer = await createUser(t.app);
  projectId = await createProject(t.app, owner, { name: 'Home, garden; etc.' });
  await addMember(t.app, projectId, owner, viewer, 'viewer');
});

async function newToken(by: TestUser, project = projectId) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/projects/${project}/calendar-token`,
    headers: by.headers,
  });
}

async function feed(token: string, project = projectId) {
  return t.app.inject({
    url: `/api/v1/projects/${project}/calendar.ics?token=${encodeURIComponent(token)}`,
  });
}

function events(body: string) {
  const calendar = new ICAL.Component(ICAL.parse(body));
  // Time zones come from the feed's own VTIMEZONE components, never from the parser's data.
  for (const zone of calendar.getAllSubcomponents('vtimezone')) {
    ICAL.TimezoneService.register(zone);
  }
  return {
    calendar,
    events: calendar.getAllSubcomponents('vevent').map((vevent) => new ICAL.Event(vevent)),
  };
}

describe('calendar feed', () => {
  it('when a member asks for a token, then the feed it opens is RFC 5545 that an independent parser reads', async () => {
    const long = `Plan ${'the 🌱 garden, '.repeat(12)}`;
    const timed = await createTask(t.app, projectId, owner, {
      title: 'Pay rent; also, check \\ the meter',
      description: 'Line one\nLine two',
      labels: ['home', 'money'],
      due_at: '2026-11-23T09:30:00.000Z',
    });
    const allDay = await createTask(t.app, projectId, owner, {
      title: long,
      due_at: '2026-11-24T23:00:00.000Z', // midnight of the 25th in Berlin
      timezone: 'Europe/Berlin',
    });
    await createTask(t.app, projectId, owner, { title: 'No date' });
    await createTask(t.app, projectId, owner, {
      title: 'Done already',
      status: 'done',
      due_at: '2026-11-20T09:00:00.000Z',
    });

    const created = await newToken(viewer);
    expect(created.statusCode, created.body).toBe(201);
    const { token, url } = created.json<{ token: string; url: string }>();
    expect(token).toMatch(/^dcal_/);
    expect(url).toBe(`${PUBLIC_URL}/api/v1/projects/${projectId}/calendar.ics?token=${token}`);

    const response = await feed(token);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/calendar; charset=utf-8');
    const body = response.body;
    // CRLF only, and no line longer than 75 octets.
    expect(body.endsWith('\r\n')).toBe(true);
    expect(body.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of body.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);

    const parsed = events(body);
    // An X- property: the parser keeps its TEXT escaping.
    expect(parsed.calendar.getFirstPropertyValue('x-wr-calname')).toBe('Home\\, garden\\; etc.');
    expect(parsed.events.map((event) => event.summary).sort()).toEqual(
      [long, 'Pay rent; also, check \\ the meter'].sort(),
    );
    const first = parsed.events.find((event) => event.uid.startsWith(timed.id))!;
    expect(first.uid).toBe(`${timed.id}@tasks.example.com`);
    expect(first.description).toBe('Line one\nLine two');
    expect(first.startDate.isDate).toBe(false);
    expect(first.startDate.toJSDate().toISOString()).toBe('2026-11-23T09:30:00.000Z');
    expect(first.component.getFirstPropertyValue('dtstamp')).not.toBeNull();
    expect(first.component.getFirstPropertyValue('url')).toBe(`${PUBLIC_URL}/tasks/${timed.id}`);
    expect(first.component.getFirstProperty('categories')?.getValues()).toEqual(['home', 'money']);
    const day = parsed.events.find((event) => event.uid.startsWith(allDay.id))!;
    expect(day.startDate.isDate).toBe(true);
    expect(day.startDate.toString()).toBe('2026-11-25');
  });

  it('when a task recurs weekly at 09:00 Berlin, then it is one event with its RRULE whose occurrences stay 09:00 local across the DST change', async () => {
    const project = await createProject(t.app, owner);
    const task = await createTask(t.app, project, owner, {
      title: 'Weekly review',
      due_at: '2026-03-23T08:00:00.000Z',
      recurrence: 'FREQ=WEEKLY;BYDAY=MO;COUNT=3',
      timezone: 'Europe/Berlin',
    });
    const { token } = (await newToken(owner, project)).json<{ token: string }>();
    const response = await feed(token, project);
    expect(response.body).toContain('DTSTART;TZID=Europe/Berlin:20260323T090000');
    expect(response.body).toContain('BEGIN:VTIMEZONE');
    const parsed = events(response.body);
    expect(parsed.events).toHaveLength(1);
    const [event] = parsed.events;
    expect(event?.uid).toBe(`${task.id}@tasks.example.com`);
    expect(event?.isRecurring()).toBe(true);
    const iterator = event!.iterator();
    const occurrences: string[] = [];
    for (let next = iterator.next(); next; next = iterator.next()) {
      occurrences.push(next.toJSDate().toISOString());
    }
    expect(occurrences).toEqual([
      '2026-03-23T08:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
      '2026-04-06T07:00:00.000Z',
    ]);
  });

  it('when a task falls at the end of year 9999, then every date keeps four digits and the feed parses', async () => {
    const project = await createProject(t.app, owner);
    for (const body of [
      { due_at: '9999-12-31T00:00:00.000Z' },
      // Local midnight of 10000-01-01 in the zone: written in UTC instead.
      { due_at: '9999-12-31T10:00:00.000Z', timezone: 'Pacific/Kiritimati' },
      {
        due_at: '9999-12-31T12:00:00.000Z',
        timezone: 'Pacific/Kiritimati',
        recurrence: 'FREQ=DAILY',
      },
    ]) {
      await createTask(t.app, project, owner, body);
    }
    const { token } = (await newToken(owner, project)).json<{ token: string }>();
    const response = await feed(token, project);
    expect(response.statusCode).toBe(200);
    const dates = response.body
      .split('\r\n')
      .filter((line) => /^(DTSTART|DTEND)[;:]/.test(line))
      .map((line) => line.slice(line.lastIndexOf(':') + 1));
    expect(dates).toEqual(['99991231', '99991231T100000Z', '99991231T120000Z']);
    expect(response.body).toContain('DURATION:P1D');
    expect(response.body).not.toContain('BEGIN:VTIMEZONE');
    expect(events(response.body).events).toHaveLength(3);
  });

  it('when the feed is asked for again with its ETag, then 304 until a task changes', async () => {
    const project = await createProject(t.app, owner);
    const task = await createTask(t.app, project, owner, { due_at: '2026-12-01T10:00:00.000Z' });
    const { token } = (await newToken(owner, project)).json<{ token: string }>();
    const first = await feed(token, project);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await t.app.inject({
      url: `/api/v1/projects/${project}/calendar.ics?token=${token}`,
      headers: { 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const changed = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: owner.headers,
      payload: { title: 'Renamed' },
    });
    expect(changed.statusCode).toBe(200);
    const after = await t.app.inject({
      url: `/api/v1/projects/${project}/calendar.ics?token=${token}`,
      headers: { 'if-none-match': etag },
    });
    expect(after.statusCode).toBe(200);
    expect(after.body).toContain('SUMMARY:Renamed');
  });

  it('when the token is regenerated, then the old one stops working', async () => {
    const old = (await newToken(owner)).json<{ token: string }>().token;
    expect((await feed(old)).statusCode).toBe(200);
    const fresh = (await newToken(owner)).json<{ token: string }>().token;
    const refused = await feed(old);
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toMatchObject({ code: 'calendar_not_found' });
    expect((await feed(fresh)).statusCode).toBe(200);
  });

  it('when the member leaves the project, then the token stops working, also after rejoining', async () => {
    const leaver = await createUser(t.app);
    await addMember(t.app, projectId, owner, leaver, 'editor');
    const { token } = (await newToken(leaver)).json<{ token: string }>();
    expect((await feed(token)).statusCode).toBe(200);
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}/members/${leaver.user.id}`,
      headers: owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    expect((await feed(token)).statusCode).toBe(404);
    // Joining again does not revive the old token.
    await addMember(t.app, projectId, owner, leaver, 'editor');
    expect((await feed(token)).statusCode).toBe(404);
  });

  it('when the token is wrong, belongs to another project, or is missing, then 404 or 422 problems', async () => {
    expect((await feed('dcal_nope')).statusCode).toBe(404);
    const other = await createProject(t.app, owner);
    const { token } = (await newToken(owner, other)).json<{ token: string }>();
    expect((await feed(token, projectId)).statusCode).toBe(404);
    const missing = await t.app.inject({ url: `/api/v1/projects/${projectId}/calendar.ics` });
    expect(missing.statusCode).toBe(422);
    const huge = await feed('x'.repeat(500));
    expect(huge.statusCode).toBe(422);
    expect(huge.headers['content-type']).toContain('application/problem+json');
  });

  it('when the query or path is malformed, then a 422 names the field; an unknown project is 404 as for a wrong token', async () => {
    const { token } = (await newToken(owner)).json<{ token: string }>();
    const path = `/api/v1/projects/${projectId}/calendar.ics`;
    for (const [url, location, field, code] of [
      [`${path}?token=${token}&token=${token}`, 'query', 'token', 'invalid_type'],
      [`${path}?token=${token}&format=ics`, 'query', 'format', 'unknown_field'],
      [`${path}?token=`, 'query', 'token', 'too_short'],
      [`${path}?token=dcal_%00`, 'query', 'token', 'invalid_character'],
      [`/api/v1/projects/not-a-uuid/calendar.ics?token=${token}`, 'path', 'id', 'invalid_format'],
    ] as const) {
      const response = await t.app.inject({ url });
      expectProblem(response, 422, 'validation_failed', url);
      expect(response.json().errors, url).toEqual([
        expect.objectContaining({ location, field, code }),
      ]);
    }
    const unknown = await feed(token, '01900000-0000-7000-8000-000000000000');
    expectProblem(unknown, 404, 'calendar_not_found', 'unknown project');
    // A bearer token is no substitute for the feed token.
    const bearer = await t.app.inject({ url: path, headers: owner.headers });
    expectProblem(bearer, 422, 'validation_failed', 'bearer only');
  });

  it('when the token request has a bad body or credential, then a problem and the old token still works', async () => {
    const { token } = (await newToken(owner)).json<{ token: string }>();
    const url = `/api/v1/projects/${projectId}/calendar-token`;
    await expectBodiesRefused(t.app, 'POST', url, owner.headers);
    await expectCredentialsRefused(t.app, owner, 'POST', url);
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/projects/not-a-uuid/calendar-token',
      headers: owner.headers,
    });
    expectProblem(malformed, 422, 'validation_failed', 'malformed id');
    expect((await feed(token)).statusCode).toBe(200);
  });

  it('when a stranger or nobody asks for a token, then 404 and 401', async () => {
    const stranger = await createUser(t.app);
    const refused = await newToken(stranger);
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toMatchObject({ code: 'project_not_found' });
    const anonymous = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/calendar-token`,
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('when the feed is requested, then its token is not written to the log', async () => {
    const { token } = (await newToken(owner)).json<{ token: string }>();
    expect((await feed(token)).statusCode).toBe(200);
    const lines = t.logs.filter((line) => String(line.url).includes('calendar.ics'));
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});
