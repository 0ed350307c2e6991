import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { addMember, createProject, createTask } from '../helpers/projects.js';
import { expiredToken } from '../helpers/refusals.js';
import { isOpen, openWs, type WsClient } from '../helpers/ws-client.js';

let t: TestApp;
let base: string;
const sockets: WsClient[] = [];

beforeAll(async () => {
  t = await createTestApp({
    config: { realtimeAuthCheckIntervalMs: 200, realtimeMaxConnectionsPerUser: 2 },
  });
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = address.replace('http', 'ws');
});

afterAll(async () => {
  for (const client of sockets) client.socket.terminate();
  await t.close();
});

async function connect(user: TestUser | null, query = ''): Promise<WsClient> {
  const opened = await openWs(`${base}/api/v1/ws${query}`, user?.headers ?? {});
  if (!isOpen(opened)) throw new Error(`refused: ${opened.status} ${opened.body}`);
  sockets.push(opened);
  return opened;
}

async function subscribe(client: WsClient, message: Record<string, unknown> = {}) {
  const before = client.ofOp('subscribed').length;
  client.send({ op: 'subscribe', ...message });
  await client.until(
    () => client.ofOp('subscribed').length > before || client.ofOp('error').length > 0,
    'subscribed',
  );
}

const eventIds = (client: WsClient) =>
  client.ofOp('event').map((m) => (m.event as { entity_id: string }).entity_id);

describe('GET /ws', () => {
  it('when there is no credential, then the upgrade is refused with 401 before it happens', async () => {
    const refused = await openWs(`${base}/api/v1/ws`);
    expect(isOpen(refused)).toBe(false);
    if (!isOpen(refused)) {
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'unauthenticated' });
    }
    const badTicket = await openWs(`${base}/api/v1/ws?ticket=rtk_nope`);
    expect(isOpen(badTicket) ? 0 : badTicket.status).toBe(401);
  });

  it('when the token has expired or a query parameter is unknown, then 401 or 422 before the upgrade', async () => {
    const user = await createUser(t.app);
    const expired = await openWs(`${base}/api/v1/ws`, {
      authorization: `Bearer ${await expiredToken(t.app, user)}`,
    });
    expect(isOpen(expired) ? 0 : expired.status).toBe(401);
    const unknown = await openWs(`${base}/api/v1/ws?last_event_id=x`, user.headers);
    expect(isOpen(unknown) ? 0 : unknown.status).toBe(422);
    if (!isOpen(unknown)) {
      expect(JSON.parse(unknown.body)).toMatchObject({
        errors: [{ location: 'query', field: 'last_event_id', code: 'unknown_field' }],
      });
    }
  });

  it('when it is a plain GET, then it is 426 upgrade_required', async () => {
    const user = await createUser(t.app);
    const response = await t.app.inject({ url: '/api/v1/ws', headers: user.headers });
    expect(response.statusCode).toBe(426);
    expect(response.json()).toMatchObject({ code: 'upgrade_required' });
  });

  it('when a client subscribes, then it gets subscribed and then live events with their ids', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const client = await connect(owner);
    await subscribe(client, { project_ids: [projectId] });
    expect(client.ofOp('subscribed')[0]).toEqual({ op: 'subscribed', project_ids: [projectId] });
    const task = await createTask(t.app, projectId, owner);
    await client.until(() => eventIds(client).includes(task.id), 'the task event');
    const message = client
      .ofOp('event')
      .find((m) => (m.event as { entity_id: string }).entity_id === task.id);
    expect(message).toMatchObject({ op: 'event', event: { type: 'task.created' } });
    expect(typeof message?.last_event_id).toBe('string');
  });

  it('when a client resubscribes with its last id, then it gets exactly what it missed', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const first = await connect(owner);
    await subscribe(first);
    const seen = await createTask(t.app, projectId, owner);
    await first.until(() => eventIds(first).includes(seen.id), 'the first task');
    const cursor = first.ofOp('event').at(-1)?.last_event_id;
    first.socket.close();
    const missed = [
      await createTask(t.app, projectId, owner),
      await createTask(t.app, projectId, owner),
    ];

    const second = await connect(owner);
    await subscribe(second, { last_event_id: cursor });
    // Replayed, or live right after `subscribed` when the relay had not read them yet.
    await second.until(() => eventIds(second).length >= 2, 'the missed tasks');
    expect(eventIds(second)).toEqual(missed.map((task) => task.id));
    const live = await createTask(t.app, projectId, owner);
    await second.until(() => eventIds(second).includes(live.id), 'the live task');
    expect(eventIds(second)).toEqual([...missed.map((task) => task.id), live.id]);
  });

  it('when a message is not a valid op, or names a foreign project or a bad id, then an error op comes and the socket stays', async () => {
    const owner = await createUser(t.app);
    const stranger = await createUser(t.app);
    const theirs = await createProject(t.app, stranger);
    const client = await connect(owner);
    client.send('not json');
    client.send({ op: 'dance' });
    client.send({ op: 'subscribe', project_ids: ['nope'] });
    await client.until(() => client.ofOp('error').length === 3, 'three errors');
    expect(client.ofOp('error').every((m) => m.code === 'validation_failed')).toBe(true);
    client.send({ op: 'subscribe', project_ids: [theirs] });
    client.send({ op: 'subscribe', last_event_id: 'garbage!' });
    await client.until(() => client.ofOp('error').length === 5, 'two more errors');
    expect(
      client
        .ofOp('error')
        .slice(3)
        .map((m) => m.code)
        .sort(),
    ).toEqual(['invalid_cursor', 'project_not_found']);
    client.send({ op: 'ping' });
    await client.until(() => client.ofOp('pong').length === 1, 'a pong');
    expect(client.closed).toBeNull();
  });

  it('when a message is over 64 KiB, then the socket is closed with 1009', async () => {
    const owner = await createUser(t.app);
    const client = await connect(owner);
    client.send({ op: 'ping', pad: 'x'.repeat(70 * 1024) });
    await client.until(() => client.closed !== null, 'closed');
    expect(client.closed?.code).toBe(1009);
  });

  it('when a ticket is used, then it opens one socket, and only once', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/realtime/tickets',
      headers: owner.headers,
    });
    const { ticket } = response.json<{ ticket: string }>();
    const client = await connect(null, `?ticket=${ticket}`);
    await subscribe(client);
    expect(client.ofOp('subscribed')).toHaveLength(1);
    const again = await openWs(`${base}/api/v1/ws?ticket=${ticket}`);
    expect(isOpen(again) ? 0 : again.status).toBe(401);
  });

  it('when a member is removed, then it gets the removal and no more of that project', async () => {
    const owner = await createUser(t.app);
    const editor = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    await addMember(t.app, projectId, owner, editor, 'editor');
    const client = await connect(editor);
    await subscribe(client, { project_ids: [projectId] });
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}/members/${editor.user.id}`,
      headers: owner.headers,
    });
    await client.until(
      () =>
        client.ofOp('event').some((m) => (m.event as { type: string }).type === 'member.removed'),
      'the removal',
    );
    const hidden = await createTask(t.app, projectId, owner);
    // A ping round trip after the task's event was relayed shows nothing came before it.
    await t.app.services.events.flush();
    client.send({ op: 'ping' });
    await client.until(() => client.ofOp('pong').length === 1, 'a pong');
    expect(eventIds(client)).not.toContain(hidden.id);
  });

  it('when the session is revoked, then the socket closes with 4401; a deactivated user, 4403', async () => {
    const admin = await createUser(t.app, { isSuperuser: true });
    const revokedUser = await createUser(t.app);
    const deactivated = await createUser(t.app);
    const first = await connect(revokedUser);
    const second = await connect(deactivated);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/me/sessions/${revokedUser.sessionId}`,
      headers: revokedUser.headers,
    });
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${deactivated.user.id}`,
      headers: admin.headers,
      payload: { is_active: false },
    });
    await first.until(() => first.closed !== null, 'the first socket closes');
    await second.until(() => second.closed !== null, 'the second socket closes');
    expect(first.closed?.code).toBe(4401);
    expect(second.closed?.code).toBe(4403);
  });

  it('when a user has too many open sockets, then the next upgrade is refused with 429', async () => {
    const user = await createUser(t.app);
    await connect(user);
    await connect(user);
    const refused = await openWs(`${base}/api/v1/ws`, user.headers);
    expect(isOpen(refused) ? 0 : refused.status).toBe(429);
  });
});
