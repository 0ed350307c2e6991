/**
 * `npx tsx bench/realtime.ts [--subscribers 1000] [--rate 200] [--seconds 10]` (also run at the
 * end of `npm run bench`): two server processes on one PostgreSQL database and Redis;
 * `--subscribers` SSE streams and a fifth as many WebSockets, spread over both and over
 * `--projects` projects (each follows one); tasks written at `--rate`/s through both instances.
 * Prints delivery latency from the write's acknowledgement to each client (p50/p99), events
 * lost and duplicated, server RSS per 1 000 open streams, and `GET /tasks/{id}` throughput of
 * an instance with its streams open against the same instance with none. Targets: p99 < 150 ms,
 * 0 lost, 0 duplicated, < 40 MB per 1 000 streams, ≥ 90 % throughput. Figures only: the exit
 * code does not depend on them. BENCH_DATABASE_URL (admin URL, default
 * postgres://postgres@127.0.0.1:5432/postgres) and BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import postgres from 'postgres';
import WebSocket from 'ws';
import { freePort, killAll, readRss, startServer, type Started } from './process.js';

const { values: flags } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    projects: { type: 'string', default: '20' },
    'throughput-seconds': { type: 'string', default: '5' },
  },
});
const sseCount = Number(flags.subscribers);
const wsCount = Math.round(sseCount / 5);
const rate = Number(flags.rate);
const seconds = Number(flags.seconds);
const projectCount = Number(flags.projects);
const throughputSeconds = Number(flags['throughput-seconds']);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'correct horse battery staple';
const ENTITY = /"entity_id":"([0-9a-f-]{36})"/;

interface Subscriber {
  projectId: string;
  live: boolean;
  /** Task id → arrival times (more than one: a duplicate). */
  seen: Map<string, number[]>;
  close(): void;
}

async function call(base: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${base}/api/v1${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function record(subscriber: Subscriber, taskId: string): void {
  const now = performance.now();
  const times = subscriber.seen.get(taskId);
  if (times) times.push(now);
  else subscriber.seen.set(taskId, [now]);
}

function openSse(base: string, token: string, projectId: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const subscriber: Subscriber = { projectId, live: false, seen: new Map(), close: () => {} };
    const req = httpRequest(`${base}/api/v1/events/stream?project_id=${projectId}`, {
      agent: false,
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    subscriber.close = () => req.destroy();
    req.once('error', reject);
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE refused: ${res.statusCode}`));
        return;
      }
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let cut: number;
        while ((cut = pending.indexOf('\n\n')) !== -1) {
          const block = pending.slice(0, cut);
          pending = pending.slice(cut + 2);
          if (block === ': live') {
            subscriber.live = true;
            resolve(subscriber);
          } else if (block.includes('event: task.created')) {
            const match = ENTITY.exec(block);
            if (match?.[1]) record(subscriber, match[1]);
          }
        }
      });
      res.on('error', () => undefined);
    });
    req.end();
  });
}

function openSocket(base: string, token: string, projectId: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const subscriber: Subscriber = {
      projectId,
      live: false,
      seen: new Map(),
      close: () => socket.terminate(),
    };
    socket.once('error', reject);
    socket.once('open', () =>
      socket.send(JSON.stringify({ op: 'subscribe', project_ids: [projectId] })),
    );
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.startsWith('{"op":"subscribed"')) {
        subscriber.live = true;
        resolve(subscriber);
      } else if (text.includes('"type":"task.created"')) {
        const match = ENTITY.exec(text);
        if (match?.[1]) record(subscriber, match[1]);
      }
    });
  });
}

/** Opens `count` subscribers, a few at a time. */
async function openMany(count: number, open: (i: number) => Promise<Subscriber>) {
  const opened: Subscriber[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => open(i + j));
    opened.push(...(await Promise.all(batch)));
  }
  return opened;
}

async function throughput(base: string, token: string, taskIds: string[]): Promise<number> {
  let next = 0;
  const result = await autocannon({
    url: base,
    connections: 16,
    duration: throughputSeconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          next = (next + 1) % taskIds.length;
          return { ...request, path: `/api/v1/tasks/${taskIds[next]}` };
        },
        headers: { authorization: `Bearer ${token}` },
      },
    ],
  });
  return result.requests.average;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const name = `docket_rt_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: `realtime-bench-${'x'.repeat(40)}`,
    DATABASE_URL: url.toString(),
    REDIS_URL,
    REDIS_KEY_PREFIX: `${name}:`,
    RATE_LIMIT_MAX: '1000000',
    AUTH_RATE_LIMIT_MAX: '1000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    REALTIME_MAX_CONNECTIONS_PER_USER: '10000',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
  };
  const servers: Started[] = [];
  try {
    for (const label of ['a', 'b']) {
      const port = await freePort();
      servers.push(
        await startServer({
          name: `instance ${label}`,
          command: process.execPath,
          args: ['--import', 'tsx', 'src/server.ts'],
          env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
          port,
          readyPath: '/health/ready',
          timeoutMs: 90_000,
        }),
      );
    }
    const [a, b] = servers as [Started, Started];
    const email = `bench-${randomBytes(4).toString('hex')}@bench.test`;
    await call(a.baseUrl, '/auth/register', {
      method: 'POST',
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const login = await call(a.baseUrl, '/auth/token', {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'password', username: email, password: PASSWORD }),
    });
    const token = String(login.access_token);
    const auth = { authorization: `Bearer ${token}` };
    const projects: string[] = [];
    for (let i = 0; i < projectCount; i += 1) {
      const project = await call(a.baseUrl, '/projects', {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ name: `Bench ${i}` }),
      });
      projects.push(String(project.id));
    }
    const readIds: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      const task = await call(a.baseUrl, `/projects/${projects[i % projectCount]}/tasks`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ title: `read ${i}` }),
      });
      readIds.push(String(task.id));
    }

    await throughput(a.baseUrl, token, readIds); // warm-up
    const idleRps = await throughput(a.baseUrl, token, readIds);
    const rssBefore = [readRss(a.pid) ?? 0, readRss(b.pid) ?? 0];

    const server = (i: number) => (i % 2 === 0 ? a : b);
    const project = (i: number) => projects[i % projectCount] ?? '';
    const opening = performance.now();
    const subscribers = [
      ...(await openMany(sseCount, (i) => openSse(server(i).baseUrl, token, project(i)))),
      ...(await openMany(wsCount, (i) => openSocket(server(i + 1).baseUrl, token, project(i)))),
    ];
    const openSeconds = (performance.now() - opening) / 1000;
    await sleep(2000);
    const rssAfter = [readRss(a.pid) ?? 0, readRss(b.pid) ?? 0];
    const busyRps = await throughput(a.baseUrl, token, readIds);

    // Writes at a steady rate through both instances, each started without waiting.
    const acked = new Map<string, { at: number; projectId: string }>();
    const total = Math.round(rate * seconds);
    const started = performance.now();
    const writes: Promise<void>[] = [];
    let failed = 0;
    for (let i = 0; i < total; i += 1) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      const projectId = project(i);
      writes.push(
        call(server(i).baseUrl, `/projects/${projectId}/tasks`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ title: `live ${i}` }),
        }).then(
          (task) => {
            acked.set(String(task.id), { at: performance.now(), projectId });
          },
          () => {
            failed += 1;
          },
        ),
      );
    }
    await Promise.all(writes);
    const writeSeconds = (performance.now() - started) / 1000;
    await sleep(3000);

    const latencies: number[] = [];
    let lost = 0;
    let duplicated = 0;
    for (const subscriber of subscribers) {
      for (const [taskId, { at, projectId }] of acked) {
        if (projectId !== subscriber.projectId) continue;
        const times = subscriber.seen.get(taskId);
        if (!times) {
          lost += 1;
          continue;
        }
        duplicated += times.length - 1;
        latencies.push(Math.max(0, (times[0] ?? at) - at));
      }
    }
    latencies.sort((x, y) => x - y);
    for (const subscriber of subscribers) subscriber.close();

    const streams = sseCount + wsCount;
    const rssDelta = rssAfter[0]! - rssBefore[0]! + (rssAfter[1]! - rssBefore[1]!);
    const perThousand = streams > 0 ? (rssDelta / streams) * 1000 : 0;
    const ratio = busyRps / idleRps;
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(`
Realtime: ${sseCount} SSE + ${wsCount} WebSocket subscribers over 2 instances, ${projectCount} projects
  opened in ${openSeconds.toFixed(1)} s; ${acked.size} tasks written in ${writeSeconds.toFixed(1)} s (${failed} failed writes), ${latencies.length} deliveries
  delivery (write acknowledged → client): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(latencies.at(-1) ?? 0).toFixed(1)} ms   [target p99 < 150 ms: ${p99 < 150 ? 'pass' : 'miss'}]
  lost ${lost}, duplicated ${duplicated}   [target 0 and 0: ${lost === 0 && duplicated === 0 ? 'pass' : 'miss'}]
  server RSS: +${mb(rssDelta)} MB for ${streams} streams = ${mb(perThousand)} MB per 1 000   [target < 40 MB: ${perThousand < 40 * 1024 * 1024 ? 'pass' : 'miss'}]
  GET /tasks/{id} on instance A: ${idleRps.toFixed(0)} req/s with no streams, ${busyRps.toFixed(0)} req/s holding ${Math.ceil(sseCount / 2) + Math.floor(wsCount / 2)} = ${(ratio * 100).toFixed(0)} %   [target ≥ 90 %: ${ratio >= 0.9 ? 'pass' : 'miss'}]`);
  } finally {
    for (const started of servers) await started.stop();
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.end({ timeout: 5 });
  }
}

try {
  await main();
} finally {
  killAll();
}
