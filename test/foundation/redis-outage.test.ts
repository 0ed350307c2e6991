import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { RedisServer, redisServerInstalled, waitFor } from '../helpers/redis-server.js';
import { uniquePrefix } from '../helpers/services.js';

const LIMIT = 3;
// Load shedding answers 503 while the loop is slow (three apps starting at once on a busy
// machine); it is not what these tests are about.
const NO_SHEDDING = { maxEventLoopDelayMs: 0 };

interface LoadResult {
  /** Answers completed in each half of the run. */
  before: number;
  after: number;
  statuses: Map<number, number>;
}

/**
 * Keeps `connections` requests in flight against the server for two windows of `windowMs`,
 * runs `between` at the turn, and counts the answers that completed in each window. Every
 * request has a deadline, so a server that hangs is counted as silent rather than hanging
 * the test.
 */
async function loadAcross(
  url: string,
  between: () => Promise<void>,
  { connections = 4, windowMs = 1_000, maxRequests = 20_000 } = {},
): Promise<LoadResult> {
  const result: LoadResult = { before: 0, after: 0, statuses: new Map() };
  let turned = false;
  let sent = 0;
  const started = Date.now();
  const end = started + 2 * windowMs;
  const worker = async (): Promise<void> => {
    while (Date.now() < end && sent < maxRequests) {
      sent += 1;
      const inFirstWindow = !turned;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(windowMs) });
        await response.arrayBuffer();
        result.statuses.set(response.status, (result.statuses.get(response.status) ?? 0) + 1);
        if (Date.now() > end) continue;
        if (inFirstWindow && !turned) result.before += 1;
        else if (!inFirstWindow) result.after += 1;
      } catch {
        // A request that hit its deadline got no answer; it is simply not counted.
      }
    }
  };
  const turn = (async () => {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    turned = true;
    await between();
  })();
  await Promise.all([...Array.from({ length: connections }, worker), turn]);
  return result;
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((row) => row.startsWith(`${name} `));
  if (line === undefined) throw new Error(`metric ${name} not found`);
  return Number(line.split(' ')[1]);
}

async function statusesFor(app: App, client: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await app.inject({ url: '/api/v1/nothing-here', remoteAddress: client });
    statuses.push(response.statusCode);
  }
  return statuses;
}

function outageLines(test: TestApp, message: RegExp): number {
  return test.logs.filter((line) => typeof line.msg === 'string' && message.test(line.msg)).length;
}

const installed = redisServerInstalled();

// One Redis for the file, killed and restarted as the tests go: they run in order.
describe.skipIf(!installed)('when Redis goes away', () => {
  let redis: RedisServer;
  // Two instances sharing one limit through Redis, and one taking load.
  let a: TestApp;
  let b: TestApp;
  let loaded: TestApp;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const prefix = uniquePrefix();
    const shared = {
      ...NO_SHEDDING,
      redisUrl: redis.url,
      redisKeyPrefix: prefix,
      rateLimitMax: LIMIT,
    };
    [a, b, loaded] = await Promise.all([
      createTestApp({ config: shared, captureLogs: true }),
      createTestApp({ config: shared }),
      createTestApp({ config: { ...NO_SHEDDING, redisUrl: redis.url } }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a, b, loaded].map((test) => test?.close()));
    await redis?.kill();
  });

  it('when Redis is up, then two instances share one count', async () => {
    const statuses = [
      ...(await statusesFor(a.app, '10.9.0.1', 2)),
      ...(await statusesFor(b.app, '10.9.0.1', 2)),
    ];
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect((await a.app.inject({ url: '/health/ready' })).json()).toMatchObject({
      status: 'ok',
      redis: 'ok',
    });
  });

  it('when Redis is killed under load, then requests keep answering at a comparable rate', async () => {
    const address = await loaded.app.listen({ port: 0, host: '127.0.0.1' });
    const result = await loadAcross(`${address}/api/v1/nothing-here`, () => redis.kill());
    const statuses = Object.fromEntries(result.statuses);
    // Before the fix, requests waited on Redis: a handful answered after the kill.
    expect(result.before, JSON.stringify(statuses)).toBeGreaterThan(0);
    expect(result.after / result.before, JSON.stringify(result)).toBeGreaterThanOrEqual(0.5);
    expect(Object.keys(statuses)).toEqual(['404']);
  });

  it('when Redis is down, then readiness stays 200 and reports redis degraded', async () => {
    await waitFor(() => a.app.redisState?.isReady() === false, 'the client to notice');
    const response = await a.app.inject({ url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', database: 'ok', redis: 'degraded' });
  });

  it('when Redis is down, then each instance limits in its own memory', async () => {
    expect(await statusesFor(a.app, '10.9.0.2', LIMIT + 1)).toEqual([404, 404, 404, 429]);
    // The other instance counts on its own: the limit is per instance during the outage.
    expect(await statusesFor(b.app, '10.9.0.2', 1)).toEqual([404]);
  });

  it('when Redis is down, then the fallback is counted and the outage logged once', async () => {
    await statusesFor(a.app, '10.9.0.3', 20);
    const metrics = (await a.app.inject({ url: '/metrics' })).body;
    expect(metricValue(metrics, 'docket_redis_up')).toBe(0);
    expect(metricValue(metrics, 'docket_rate_limit_fallback_total')).toBeGreaterThanOrEqual(24);
    expect(outageLines(a, /^redis unavailable/)).toBe(1);
  });

  it('when Redis comes back, then the instances share the count again by themselves', async () => {
    await redis.start();
    await waitFor(
      () => a.app.redisState?.isReady() === true && b.app.redisState?.isReady() === true,
      'both instances to reconnect',
    );
    const statuses = [
      ...(await statusesFor(a.app, '10.9.0.4', 2)),
      ...(await statusesFor(b.app, '10.9.0.4', 2)),
    ];
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect((await a.app.inject({ url: '/health/ready' })).json()).toMatchObject({ redis: 'ok' });
    const metrics = (await a.app.inject({ url: '/metrics' })).body;
    expect(metricValue(metrics, 'docket_redis_up')).toBe(1);
    expect(outageLines(a, /^redis available again/)).toBe(1);
  });

  it('when Redis hangs with its connections open, then requests still answer and it falls back', async () => {
    const before = metricValue(
      (await a.app.inject({ url: '/metrics' })).body,
      'docket_rate_limit_fallback_total',
    );
    redis.pause();
    try {
      // Each call gives up after its short timeout, then the silent connection is dropped.
      expect(await statusesFor(a.app, '10.9.0.5', 2)).toEqual([404, 404]);
      await waitFor(() => a.app.redisState?.isReady() === false, 'the silent connection to drop');
      const ready = await a.app.inject({ url: '/health/ready' });
      expect([ready.statusCode, ready.json().redis]).toEqual([200, 'degraded']);
      expect(await statusesFor(a.app, '10.9.0.5', 2)).toEqual([404, 429]);
    } finally {
      redis.resume();
    }
    // /metrics is rate limited too: read it once Redis is back, so the read is not a fallback.
    await waitFor(() => a.app.redisState?.isReady() === true, 'the client to reconnect');
    const after = metricValue(
      (await a.app.inject({ url: '/metrics' })).body,
      'docket_rate_limit_fallback_total',
    );
    expect(after - before).toBe(4);
    // The failed calls and the dropped connection are one outage: one line down, one line back.
    await waitFor(() => outageLines(a, /^redis available again/) === 2, 'the return to be logged');
    expect(outageLines(a, /^redis unavailable/)).toBe(2);
  });

  it('when Redis is down at start-up, then the app starts degraded and connects when it returns', async () => {
    await redis.kill();
    const late = await createTestApp({
      config: { ...NO_SHEDDING, redisUrl: redis.url },
      captureLogs: true,
    });
    try {
      const ready = await late.app.inject({ url: '/health/ready' });
      expect([ready.statusCode, ready.json().redis]).toEqual([200, 'degraded']);
      expect(outageLines(late, /^redis unavailable at start-up/)).toBe(1);
      await redis.start();
      await waitFor(() => late.app.redisState?.isReady() === true, 'the client to connect');
      const after = await late.app.inject({ url: '/health/ready' });
      expect(after.json()).toMatchObject({ status: 'ok', redis: 'ok' });
    } finally {
      await late.close();
    }
  });
});
