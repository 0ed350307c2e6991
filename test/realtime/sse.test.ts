import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, realtimeTickets } from '../../src/db/schema/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';
import {
  expectBodiesRefused,
  expectCredentialsRefused,
  expiredToken,
} from '../helpers/refusals.js';
import { openSse, type SseClient, type SseEvent } from '../helpers/sse.js';

let t: TestApp;
let base: string;
const open: SseClient[] = [];

beforeAll(async () => {
  t = await createTestApp({
    config: {
      realtimePingIntervalMs: 200,
      realtimeAuthCheckIntervalMs: 200,
      realtimeMaxConnectionsPerUser: 3,
    },
    captureLogs: true,
  });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  for (const client of open) client.close();
  await t.close();
});

async function stream(query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await openSse(`${base}/api/v1/events/stream${query}`, headers);
  open.push(client);
  return client;
}

/** A stream that has finished its replay. */
async function liveStream(user: TestUser, query = '', headers: Record<string, string> = {}) {
  const client = await stream(query, { ...user.headers, ...headers });
  expect(client.status, client.body()).toBe(200);
  await client.until(() => client.comments.includes('live'), 'the stream goes live');
  return client;
}

const ofType = (client: SseClient, type: string) => client.events.filter((e) => e.event === type);
const entityIds = (list: SseEvent[]) =>
  list.map((e) => (JSON.parse(e.data) as { entity_id: string }).entity_id);

function noDuplicates(client: SseClient): void {
  const ids = client.events.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
}

describe('GET /events/stream', () => {
  it('when there is no token, then it is 401 and no stream opens', async () => {
    const client = await stream();
    expect(client.status).toBe(401);
    expect(JSON.parse(client.body())).toMatchObject({ code: 'unauthenticated' });
  });

  it('when a task is created, then its event arrives with an id, its type and its JSON, uncompressed', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const client = await liveStream(owner, '', { 'accept-encoding': 'gzip, br' });
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers['content-encoding']).toBeUndefined();
    expect(client.headers['x-request-id']).toBeDefined();

    const task = await createTask(t.app, projectId, owner, { title: 'Live' });
    await client.until(() => ofType(client, 'task.created').length === 1, 'task.created arrives');
    const [event] = ofType(client, 'task.created');
    expect(event?.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(event?.data ?? '')).toMatchObject({
      type: 'task.created',
      project_id: projectId,
      entity_id: task.id,
      data: { title: 'Live' },
    });
  });

  it('when ?project_id= names a project of someone else, then it is 404; when malformed, 422', async () => {
    const owner = await createUser(t.app);
    const stranger = await createUser(t.app);
    const theirs = await createProject(t.app, stranger);
    const notMine = await stream(`?project_id=${theirs}`, owner.headers);
    expect(notMine.status).toBe(404);
    expect(JSON.parse(notMine.body())).toMatchObject({ code: 'project_not_found' });
    const malformed = await stream('?project_id=nope', owner.headers);
    expect(malformed.status).toBe(422);
  });

  it('when the event id is not one the API issued, then it is 400 invalid_cursor', async () => {
    const owner = await createUser(t.app);
    for (const bad of ['garbage!', Buffer.from('1.x').toString('base64url')]) {
      const viaHeader = await stream('', { ...owner.headers, 'last-event-id': bad });
      expect(viaHeader.status).toBe(400);
      expect(JSON.parse(viaHeader.body())).toMatchObject({ code: 'invalid_cursor' });
    }
    const viaQuery = await stream('?last_event_id=%25%25', owner.headers);
    expect(viaQuery.status).toBe(400);
  });

  it('when a query parameter is unknown, repeated, too long or too many, or the token has expired, then 422 or 401 before any stream', async () => {
    const owner = await createUser(t.app);
    const id = '01900000-0000-7000-8000-000000000000';
    for (const [query, headers, status, field] of [
      ['?since=now', {}, 422, 'since'],
      ['?last_event_id=a&last_event_id=b', {}, 422, 'last_event_id'],
      [`?last_event_id=${'a'.repeat(65)}`, {}, 422, 'last_event_id'],
      ['', { 'last-event-id': 'a'.repeat(65) }, 422, 'last-event-id'],
      [
        `?${Array.from({ length: 101 }, () => `project_id=${id}`).join('&')}`,
        {},
        422,
        'project_id',
      ],
    ] as const) {
      const client = await stream(query, { ...owner.headers, ...headers });
      expect(client.status, query).toBe(status);
      expect(JSON.parse(client.body()).errors, query).toEqual([expect.objectContaining({ field })]);
    }
    const expired = await stream('', {
      authorization: `Bearer ${await expiredToken(t.app, owner)}`,
    });
    expect(expired.status).toBe(401);
    expect(JSON.parse(expired.body())).toMatchObject({ code: 'invalid_token' });
  });

  it('when only some projects are asked for, then only their events come', async () => {
    const owner = await createUser(t.app);
    const wanted = await createProject(t.app, owner);
    const other = await createProject(t.app, owner);
    const client = await liveStream(owner, `?project_id=${wanted}`);
    await createTask(t.app, other, owner, { title: 'elsewhere' });
    const task = await createTask(t.app, wanted, owner, { title: 'here' });
    await client.until(() => entityIds(client.events).includes(task.id), 'the wanted task');
    expect(client.events.every((e) => JSON.parse(e.data).project_id === wanted)).toBe(true);
  });

  it('when a client reconnects with its last id after writes, then it gets exactly what it missed', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const first = await liveStream(owner);
    const before = await createTask(t.app, projectId, owner, { title: 'seen' });
    await first.until(() => entityIds(first.events).includes(before.id), 'the first task');
    const lastId = first.events.at(-1)?.id ?? '';
    first.close();

    const missed = [];
    for (let i = 0; i < 5; i += 1) missed.push(await createTask(t.app, projectId, owner));

    const header = await liveStream(owner, '', { 'last-event-id': lastId });
    // Replayed, or live right after `: live` when the relay had not read them yet.
    await header.until(() => header.events.length >= 5, 'the missed tasks');
    expect(entityIds(ofType(header, 'task.created'))).toEqual(missed.map((task) => task.id));
    const query = await liveStream(owner, `?last_event_id=${lastId}`);
    await query.until(() => query.events.length >= 5, 'the missed tasks');
    expect(query.events.map((e) => e.id)).toEqual(header.events.map((e) => e.id));

    const after = await createTask(t.app, projectId, owner);
    await header.until(() => entityIds(header.events).includes(after.id), 'the live task');
    expect(entityIds(ofType(header, 'task.created'))).toEqual([
      ...missed.map((task) => task.id),
      after.id,
    ]);
    noDuplicates(header);
  });

  it('when writes go on while a client resumes, then the seam between replay and live has no gap and no duplicate', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const start = await liveStream(owner);
    const first = await createTask(t.app, projectId, owner);
    await start.until(() => entityIds(start.events).includes(first.id), 'the first task');
    const cursor = start.events.find((e) => entityIds([e])[0] === first.id)?.id ?? '';
    start.close();

    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      while (writing || written.length < 40) {
        const batch = await Promise.all([0, 1, 2].map(() => createTask(t.app, projectId, owner)));
        written.push(...batch.map((task) => task.id));
      }
    })();
    const resumed: SseClient[] = [];
    // Two at different moments of the writing (the closed first stream may still count).
    for (let i = 0; i < 2; i += 1) {
      resumed.push(await stream('', { ...owner.headers, 'last-event-id': cursor }));
    }
    writing = false;
    await writer;
    const rows = await t.app.db
      .select({ entityId: events.entityId })
      .from(events)
      .where(eq(events.projectId, projectId))
      .orderBy(events.txid, events.seq);
    const inLog = rows.map((row) => row.entityId);
    const afterFirst = inLog.slice(inLog.indexOf(first.id) + 1);
    for (const client of resumed) {
      await client.until(
        () => client.events.length >= afterFirst.length,
        `all ${afterFirst.length} events after the cursor`,
      );
      expect(entityIds(client.events)).toEqual(afterFirst);
      noDuplicates(client);
    }
  });

  it('when a member is removed mid-stream, then it gets the removal and nothing more of that project', async () => {
    const owner = await createUser(t.app);
    const viewer = await createUser(t.app);
    const shared = await createProject(t.app, owner);
    const own = await createProject(t.app, viewer);
    await addMember(t.app, shared, owner, viewer, 'viewer');
    const client = await liveStream(viewer);
    const seen = await createTask(t.app, shared, owner, { title: 'before' });
    await client.until(() => entityIds(client.events).includes(seen.id), 'a task while a member');

    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${shared}/members/${viewer.user.id}`,
      headers: owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    const hidden = await createTask(t.app, shared, owner, { title: 'after' });
    const marker = await createTask(t.app, own, viewer, { title: 'marker' });
    await client.until(() => entityIds(client.events).includes(marker.id), 'the marker task');
    expect(ofType(client, 'member.removed')).toHaveLength(1);
    expect(entityIds(client.events)).not.toContain(hidden.id);

    // Re-added later, it hears the project again (it follows all its projects).
    await addMember(t.app, shared, owner, viewer, 'viewer');
    const again = await createTask(t.app, shared, owner, { title: 'again' });
    await client.until(() => entityIds(client.events).includes(again.id), 'events after re-adding');
  });

  it('when a new project is created while streaming everything, then its events arrive too', async () => {
    const owner = await createUser(t.app);
    const client = await liveStream(owner);
    const projectId = await createProject(t.app, owner);
    const task = await createTask(t.app, projectId, owner);
    await client.until(() => entityIds(client.events).includes(task.id), 'the new project task');
  });

  it('when the session is revoked, then the stream ends', async () => {
    const user = await createUser(t.app);
    const client = await liveStream(user);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/me/sessions/${user.sessionId}`,
      headers: user.headers,
    });
    expect(revoked.statusCode).toBe(204);
    await client.until(() => client.ended, 'the stream ends');
  });

  it('when the user is deactivated, then the stream ends', async () => {
    const admin = await createUser(t.app, { isSuperuser: true });
    const user = await createUser(t.app);
    const client = await liveStream(user);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.user.id}`,
      headers: admin.headers,
      payload: { is_active: false },
    });
    expect(response.statusCode, response.body).toBe(200);
    await client.until(() => client.ended, 'the stream ends');
  });

  it('when the stream is idle, then it gets a ping comment', async () => {
    const user = await createUser(t.app);
    const client = await liveStream(user);
    await client.until(() => client.comments.includes('ping'), 'a ping');
  });

  it('when a user opens more streams than allowed, then the next is 429 too_many_streams', async () => {
    const user = await createUser(t.app);
    const clients = await Promise.all([0, 1, 2].map(() => liveStream(user)));
    const refused = await stream('', user.headers);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body())).toMatchObject({ code: 'too_many_streams' });
    clients[0]?.close();
    await clients[0]?.until(() => clients[0]?.ended === true, 'closed');
    // The slot is given back once the server sees the close.
    let reopened: SseClient | undefined;
    for (let i = 0; i < 100 && reopened?.status !== 200; i += 1) {
      reopened?.close();
      reopened = await stream('', user.headers);
      if (reopened.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(reopened?.status).toBe(200);
  });

  it('when the resume point is older than the kept history, then a reset event comes instead of a gap', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const client = await liveStream(owner);
    const old = await createTask(t.app, projectId, owner);
    await client.until(() => entityIds(client.events).includes(old.id), 'the old task');
    const cursor = client.events.at(-1)?.id ?? '';
    client.close();
    await createTask(t.app, projectId, owner);
    // What the maintenance job does after EVENTS_RETENTION_DAYS, to everything up to now.
    await t.app.db.delete(events).where(sql`true`);
    await createTask(t.app, projectId, owner);

    const resumed = await liveStream(owner, '', { 'last-event-id': cursor });
    // The reset comes first; what follows is after the point it hands out (an event the relay
    // had not read yet when the stream opened may follow live).
    expect(resumed.events[0]?.event).toBe('reset');
    const reset = JSON.parse(resumed.events[0]?.data ?? '') as { last_event_id: string };
    expect(reset.last_event_id).toBe(resumed.events[0]?.id);
    const next = await createTask(t.app, projectId, owner);
    await resumed.until(() => entityIds(resumed.events).includes(next.id), 'live after reset');
    expect(resumed.events.filter((e) => e.event === 'reset')).toHaveLength(1);
    expect(resumed.events.filter((e) => e.event !== 'reset').length).toBeLessThanOrEqual(2);
  });

  it('when /metrics is read, then it counts open streams and events sent', async () => {
    const owner = await createUser(t.app);
    await liveStream(owner);
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/docket_realtime_connections\{transport="sse"\} [1-9]/);
    expect(metrics.body).toContain('docket_realtime_events_sent_total');
    expect(metrics.body).toContain('docket_realtime_drops_total');
  });
});

describe('the stream around its edges', () => {
  it('when it is asked with HEAD, then it is 404 rather than an endless empty answer', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      method: 'HEAD',
      url: '/api/v1/events/stream',
      headers: owner.headers,
    });
    expect(response.statusCode).toBe(404);
  });

  it('when /realtime-demo is opened, then the page and its script come with a self-only policy', async () => {
    const page = await t.app.inject({ url: '/realtime-demo' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('/realtime-demo/demo.js');
    const script = await t.app.inject({ url: '/realtime-demo/demo.js' });
    expect(script.statusCode).toBe(200);
    expect(script.body).toContain('/realtime/tickets');
  });
});

describe('POST /realtime/tickets', () => {
  async function ticketFor(user: TestUser): Promise<string> {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/realtime/tickets',
      headers: user.headers,
    });
    expect(response.statusCode, response.body).toBe(201);
    const body = response.json<{ ticket: string; expires_in: number }>();
    expect(body.expires_in).toBe(30);
    return body.ticket;
  }

  it('when there is no token, then no ticket is made', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/realtime/tickets' });
    expect(response.statusCode).toBe(401);
  });

  it('when the body is malformed, not JSON or over 1 MiB, or the token is made up or expired, then a problem and no ticket', async () => {
    const owner = await createUser(t.app);
    const url = '/api/v1/realtime/tickets';
    await expectBodiesRefused(t.app, 'POST', url, owner.headers);
    await expectCredentialsRefused(t.app, owner, 'POST', url);
    const rows = await t.app.db.select().from(realtimeTickets);
    expect(rows.filter((row) => row.userId === owner.user.id)).toEqual([]);
  });

  it('when a ticket is used, then it opens one stream as its user, stored hashed, and never again', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const ticket = await ticketFor(owner);
    const rows = await t.app.db.select().from(realtimeTickets);
    expect(rows.some((row) => row.tokenHash === ticket)).toBe(false);

    const client = await stream(`?ticket=${ticket}`);
    expect(client.status).toBe(200);
    await client.until(() => client.comments.includes('live'), 'live');
    const task = await createTask(t.app, projectId, owner);
    await client.until(() => entityIds(client.events).includes(task.id), 'the task');

    const again = await stream(`?ticket=${ticket}`);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body())).toMatchObject({ code: 'invalid_token' });
    // The request log never shows a ticket.
    const logged = t.logs
      .map((line) => (typeof line.url === 'string' ? line.url : ''))
      .filter((url) => url.includes('ticket='));
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.some((url) => url.includes(ticket))).toBe(false);
  });

  it('when a ticket has expired or is made up, then it is 401', async () => {
    const owner = await createUser(t.app);
    const ticket = await ticketFor(owner);
    await t.app.db
      .update(realtimeTickets)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(realtimeTickets.userId, owner.user.id));
    expect((await stream(`?ticket=${ticket}`)).status).toBe(401);
    expect((await stream('?ticket=rtk_madeup')).status).toBe(401);
    expect((await stream(`?ticket=${'x'.repeat(101)}`)).status).toBe(401);
  });

  it('when the session behind a ticket is revoked before use, then the ticket is refused', async () => {
    const user = await createUser(t.app);
    const ticket = await ticketFor(user);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/me/sessions/${user.sessionId}`,
      headers: user.headers,
    });
    expect((await stream(`?ticket=${ticket}`)).status).toBe(401);
  });
});
