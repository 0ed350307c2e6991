import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type ServerProcess,
  startServer,
  waitUntilReady,
} from '../helpers/server-process.js';
import {
  createTestDatabase,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  uniquePrefix,
} from '../helpers/services.js';
import { openSse, type SseClient } from '../helpers/sse.js';
import { isOpen, openWs, type WsClient } from '../helpers/ws-client.js';

const SECRET = 'realtime-secret-that-is-long-enough-for-hs256-0123456789';
const PASSWORD = 'correct horse battery staple';
const ready = (await postgresAvailable()) && (await redisAvailable());
if (!ready) console.warn('PostgreSQL or Redis unreachable: the realtime process tests are skipped');
const cleanup: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const started = startServer(env, await freePort());
  cleanup.push(async () => {
    if (started.child.exitCode === null && started.child.signalCode === null) {
      started.child.kill('SIGKILL');
      await once(started.child, 'exit');
    }
  });
  await waitUntilReady(started, 60_000);
  return started;
}

async function api(target: ServerProcess, path: string, init: RequestInit = {}) {
  const response = await fetch(`http://127.0.0.1:${target.port}/api/v1${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A registered user's bearer headers, logged in through `target`. */
async function login(target: ServerProcess): Promise<{ authorization: string }> {
  const email = `rt-${Math.random().toString(36).slice(2)}@example.com`;
  await api(target, '/auth/register', {
    method: 'POST',
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const token = await api(target, '/auth/token', {
    method: 'POST',
    body: JSON.stringify({ grant_type: 'password', username: email, password: PASSWORD }),
  });
  return { authorization: `Bearer ${String(token.access_token)}` };
}

async function environment(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const database = await createTestDatabase();
  cleanup.push(() => database.drop());
  return {
    NODE_ENV: 'test',
    JWT_SECRET: SECRET,
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '4',
    REDIS_URL,
    REDIS_KEY_PREFIX: uniquePrefix(),
    RATE_LIMIT_MAX: '100000',
    AUTH_RATE_LIMIT_MAX: '1000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...extra,
  };
}

function resume(target: ServerProcess, headers: Record<string, string>, cursor: string) {
  return openSse(`http://127.0.0.1:${target.port}/api/v1/events/stream`, {
    ...headers,
    'last-event-id': cursor,
  });
}

const entityIds = (client: SseClient) =>
  client.events.map((e) => (JSON.parse(e.data) as { entity_id: string }).entity_id);

describe.skipIf(!ready)('realtime across processes', () => {
  it('when a change commits through instance A, then subscribers on instance B get it', async () => {
    const env = await environment({ REALTIME_MAX_CONNECTIONS_PER_USER: '3' });
    const [a, b] = await Promise.all([server(env), server(env)]);
    const headers = await login(a);
    const project = await api(a, '/projects', {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Shared' }),
    });
    const sse = await openSse(`http://127.0.0.1:${b.port}/api/v1/events/stream`, headers);
    expect(sse.status).toBe(200);
    await sse.until(() => sse.comments.includes('live'), 'the SSE stream on B goes live');
    const socket = await openWs(`ws://127.0.0.1:${a.port}/api/v1/ws`, headers);
    if (!isOpen(socket)) throw new Error(`refused: ${socket.status}`);
    socket.send({ op: 'subscribe' });
    await socket.until(() => socket.ofOp('subscribed').length === 1, 'subscribed on A');

    // The per-user limit holds across both instances (counted in Redis).
    const third = await openSse(`http://127.0.0.1:${a.port}/api/v1/events/stream`, headers);
    expect(third.status).toBe(200);
    const fourth = await openSse(`http://127.0.0.1:${b.port}/api/v1/events/stream`, headers);
    expect(fourth.status).toBe(429);
    expect(JSON.parse(fourth.body())).toMatchObject({ code: 'too_many_streams' });
    third.close();

    const viaA = await api(a, `/projects/${String(project.id)}/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: 'through A' }),
    });
    const viaB = await api(b, `/projects/${String(project.id)}/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: 'through B' }),
    });
    await sse.until(() => entityIds(sse).includes(String(viaB.id)), 'both tasks on B');
    expect(entityIds(sse)).toEqual([viaA.id, viaB.id]);
    await socket.until(() => socket.ofOp('event').length === 2, 'both tasks on A');
    expect(socket.ofOp('event').map((m) => (m.event as { entity_id: string }).entity_id)).toEqual([
      viaA.id,
      viaB.id,
    ]);

    // The id from B resumes on A with nothing missed and nothing twice.
    const cursor = sse.events.at(-1)?.id ?? '';
    sse.close();
    const missed = await api(b, `/projects/${String(project.id)}/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: 'while away' }),
    });
    // The closed streams' places come back once their servers see the close.
    let resumed = await resume(a, headers, cursor);
    for (let i = 0; i < 200 && resumed.status === 429; i += 1) {
      await sleep(50);
      resumed = await resume(a, headers, cursor);
    }
    expect(resumed.status).toBe(200);
    await resumed.until(() => resumed.events.length >= 1, 'the missed task on A');
    expect(entityIds(resumed)).toEqual([missed.id]);
    resumed.close();
    socket.socket.terminate();
  }, 120_000);

  it('when SIGTERM arrives with 200 open streams, then each is told to reconnect and the process exits 0 before its deadline', async () => {
    const env = await environment({
      REALTIME_MAX_CONNECTIONS_PER_USER: '500',
      SHUTDOWN_DRAIN_DELAY_MS: '500',
    });
    const target = await server(env);
    const headers = await login(target);
    const url = `http://127.0.0.1:${target.port}/api/v1/events/stream`;
    const streams: SseClient[] = [];
    for (let i = 0; i < 160; i += 10) {
      streams.push(...(await Promise.all(Array.from({ length: 10 }, () => openSse(url, headers)))));
    }
    const sockets: WsClient[] = [];
    for (let i = 0; i < 40; i += 1) {
      const socket = await openWs(`ws://127.0.0.1:${target.port}/api/v1/ws`, headers);
      if (!isOpen(socket)) throw new Error(`refused: ${socket.status}`);
      sockets.push(socket);
    }
    expect(streams.every((stream) => stream.status === 200)).toBe(true);
    await Promise.all(streams.map((s) => s.until(() => s.comments.includes('live'), 'live')));

    target.child.kill('SIGTERM');
    // Past SHUTDOWN_TIMEOUT_MS (10 s) the server gives up and exits 1: 0 means it was in time.
    expect(await target.exit).toBe(0);
    await Promise.all(streams.map((s) => s.until(() => s.ended, 'the stream ends')));
    expect(streams.every((s) => s.retry !== null && s.retry >= 1000)).toBe(true);
    await Promise.all(sockets.map((s) => s.until(() => s.closed !== null, 'the socket closes')));
    expect(sockets.map((s) => s.closed?.code)).toEqual(sockets.map(() => 1012));
  }, 120_000);
});
