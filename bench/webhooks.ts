/**
 * `npx tsx bench/webhooks.ts [--seconds 10] [--rate 200] [--subscriptions 10] [--short]`, also
 * run by `npm run bench` with the background scenarios. Starts Docket (workers on, PostgreSQL: a
 * throw-away database on BENCH_DATABASE_URL's server) and a local receiver, subscribes
 * `--subscriptions` webhooks to one project, then measures:
 *  - event → delivery latency (the write's 201 → the receiver's request), p50/p99, at a light
 *    write rate (`--latency-rate`, default 20/s) so that nothing queues up;
 *  - deliveries per second while tasks are written at `--rate`/s (each write fans out to every
 *    subscription), counted until the backlog is drained;
 *  - `GET /tasks/{id}` throughput under the same writes with the webhooks off, then on.
 * Targets: ≥ 500 deliveries/s, latency p99 < 500 ms, GET throughput with deliveries ≥ 85 % of
 * without. `--short` runs 3-second phases. `BENCH_NODE_ARGS` adds options to the server's `node`
 * (`--cpu-prof --cpu-prof-dir=…` writes its profile when it stops). Figures only: the exit code does not depend on them.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { freePort, killAll, type Started, startServer } from './process.js';
import { drive } from './scenarios.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '200' },
    'latency-rate': { type: 'string', default: '20' },
    subscriptions: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    short: { type: 'boolean', default: false },
  },
});
const seconds = flags.short ? 3 : Number(flags.seconds);
const rate = Number(flags.rate);
const latencyRate = Number(flags['latency-rate']);
const subscriptions = Number(flags.subscriptions);
const connections = Number(flags.connections);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'webhook bench password, long enough';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** The receiver: answers 204 and notes when each (subscription, task) arrived. */
async function startReceiver() {
  const arrivals = new Map<string, number[]>();
  let count = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      count += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { id: string } };
      const list = arrivals.get(body.data.id) ?? [];
      list.push(at);
      arrivals.set(body.data.id, list);
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    count: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const name = `docket_bench_webhooks_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const receiver = await startReceiver();
  let server: Started | undefined;
  try {
    const port = await freePort();
    server = await startServer({
      name: 'docket',
      command: process.execPath,
      // BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the server's node.
      args: [
        ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
        '--import',
        'tsx',
        'src/server.ts',
      ],
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: url.toString(),
        JWT_SECRET: `webhook-bench-${'x'.repeat(40)}`,
        RATE_LIMIT_MAX: '1000000',
        AUTH_RATE_LIMIT_MAX: '100000',
        MAX_EVENT_LOOP_DELAY_MS: '0',
        WEBHOOK_ALLOW_PRIVATE: 'true',
      },
      port,
      readyPath: '/health/ready',
      timeoutMs: 60_000,
    });
    await measure(server.baseUrl, receiver);
  } finally {
    await server?.stop();
    await receiver.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 1 });
  }
}

async function measure(base: string, receiver: Receiver): Promise<void> {
  const call = async <T>(method: string, path: string, body?: unknown, token?: string) => {
    const response = await fetch(base + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (response.status === 204 ? null : await response.json()) as T;
  };
  await call('POST', '/api/v1/auth/register', { email: 'bench@bench.test', password: PASSWORD });
  const tokenResponse = await fetch(`${base}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      username: 'bench@bench.test',
      password: PASSWORD,
    }).toString(),
  });
  const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
  const project = await call<{ id: string }>('POST', '/api/v1/projects', { name: 'Bench' }, token);
  const readTask = await call<{ id: string }>(
    'POST',
    `/api/v1/projects/${project.id}/tasks`,
    { title: 'read me' },
    token,
  );
  const hooks: string[] = [];
  for (let i = 0; i < subscriptions; i += 1) {
    const hook = await call<{ id: string }>(
      'POST',
      `/api/v1/projects/${project.id}/webhooks`,
      { url: `${receiver.url}/hook-${i}`, events: ['task.created'], enabled: false },
      token,
    );
    hooks.push(hook.id);
  }
  const setEnabled = async (enabled: boolean) => {
    for (const id of hooks) await call('PATCH', `/api/v1/webhooks/${id}`, { enabled }, token);
  };

  /**
   * Creates tasks at `perSecond` for `duration` s (at most 64 waiting at once, so a slower
   * server is not flooded); returns each task's 201 time by id and the rate achieved.
   */
  const write = async (perSecond: number, duration: number) => {
    const written = new Map<string, number>();
    const total = Math.round(perSecond * duration);
    const interval = 1000 / perSecond;
    const start = performance.now();
    const pending = new Set<Promise<void>>();
    for (let i = 0; i < total; i += 1) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      while (pending.size >= 64) await Promise.race(pending);
      const task = call<{ id: string }>(
        'POST',
        `/api/v1/projects/${project.id}/tasks`,
        { title: `t${i}` },
        token,
      ).then((created) => {
        written.set(created.id, performance.now());
      });
      pending.add(task);
      void task.finally(() => pending.delete(task));
    }
    await Promise.all(pending);
    return { written, rate: total / ((performance.now() - start) / 1000) };
  };
  const getLoad = () =>
    drive(base, {
      connections,
      duration: seconds,
      requests: [
        {
          method: 'GET',
          path: `/api/v1/tasks/${readTask.id}`,
          headers: { authorization: `Bearer ${token}` },
        },
      ],
    });
  const drain = async (expected: number, timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    while (receiver.count() < expected && performance.now() < deadline) await sleep(20);
    return performance.now();
  };

  // 1. GET throughput under writes, webhooks off.
  const [without, baseWrites] = await Promise.all([getLoad(), write(rate, seconds)]);

  // 2. Latency with no backlog: light writes, webhooks on.
  await setEnabled(true);
  await sleep(500);
  let before = receiver.count();
  const { written: light } = await write(latencyRate, seconds);
  await drain(before + light.size * subscriptions, 30_000);
  const latencies: number[] = [];
  for (const [id, at] of light) {
    for (const arrived of receiver.arrivals.get(id) ?? []) latencies.push(arrived - at);
  }
  latencies.sort((a, b) => a - b);
  const lightMissing = light.size * subscriptions - latencies.length;

  // 3. Full rate with deliveries: GET throughput, deliveries per second until drained.
  before = receiver.count();
  const started = performance.now();
  const [withDeliveries, heavyWrites] = await Promise.all([getLoad(), write(rate, seconds)]);
  const heavy = heavyWrites.written;
  const expected = heavy.size * subscriptions;
  const drained = await drain(before + expected, flags.short ? 30_000 : 120_000);
  const delivered = receiver.count() - before;
  const deliveryRate = delivered / ((drained - started) / 1000);
  const heavyLatencies: number[] = [];
  for (const [id, at] of heavy) {
    for (const arrived of receiver.arrivals.get(id) ?? []) heavyLatencies.push(arrived - at);
  }
  heavyLatencies.sort((a, b) => a - b);

  const ratio = withDeliveries.rps / without.rps;
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  console.log(
    `webhooks on PostgreSQL: ${subscriptions} subscriptions, ${seconds} s phases, ` +
      `${connections} GET connections`,
  );
  console.log(
    `  latency at ${latencyRate} writes/s (${latencies.length} deliveries, ${lightMissing} missing): ` +
      `p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, ` +
      `max ${ms(latencies.at(-1) ?? Number.NaN)} — target p99 < 500 ms: ` +
      `${percentile(latencies, 99) < 500 ? 'pass' : 'miss'}`,
  );
  console.log(
    `  deliveries at ${rate} writes/s (${heavyWrites.rate.toFixed(0)}/s achieved): ${delivered} of ${expected} in ` +
      `${((drained - started) / 1000).toFixed(1)} s = ${deliveryRate.toFixed(0)}/s — ` +
      `target ≥ 500/s: ${deliveryRate >= 500 ? 'pass' : 'miss'}; latency under that load ` +
      `p50 ${ms(percentile(heavyLatencies, 50))}, p99 ${ms(percentile(heavyLatencies, 99))}`,
  );
  console.log(
    `  GET /tasks/{id} under ${rate} writes/s (${baseWrites.rate.toFixed(0)}/s achieved): ${without.rps.toFixed(0)} req/s without ` +
      `deliveries, ${withDeliveries.rps.toFixed(0)} req/s with (${(ratio * 100).toFixed(0)} %) — ` +
      `target ≥ 85 %: ${ratio >= 0.85 ? 'pass' : 'miss'}`,
  );
}

try {
  await main();
} finally {
  killAll();
}
