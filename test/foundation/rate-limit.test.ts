import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, useTestApp } from '../helpers/app.js';
import { redisAvailable } from '../helpers/services.js';

const t = useTestApp({ config: { rateLimitMax: 3 } });

describe('rate limiting in memory', () => {
  it('when a client exceeds the limit, then it gets 429 with Retry-After and a problem body', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i += 1) {
      last = await t.app.inject({ url: '/openapi.json', remoteAddress: '10.1.1.1' });
      statuses.push(last.statusCode);
    }
    // Operational routes are exempt from the budget.
    expect(statuses).toEqual([200, 200, 200, 200]);

    const limited: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      last = await t.app.inject({ url: '/api/v1/unknown', remoteAddress: '10.1.1.2' });
      limited.push(last.statusCode);
    }
    expect(limited).toEqual([404, 404, 404, 429]);
    expect(last?.headers['retry-after']).toMatch(/^\d+$/);
    expect(last?.headers['x-ratelimit-limit']).toBe('3');
    expect(last?.headers['x-ratelimit-remaining']).toBe('0');
    expect(last?.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(last?.json()).toMatchObject({ status: 429, code: 'rate_limited' });
  });

  it('when a request is under the limit, then X-RateLimit headers count down', async () => {
    const first = await t.app.inject({ url: '/api/v1/x', remoteAddress: '10.1.1.3' });
    const second = await t.app.inject({ url: '/api/v1/x', remoteAddress: '10.1.1.3' });
    expect(first.headers['x-ratelimit-remaining']).toBe('2');
    expect(second.headers['x-ratelimit-remaining']).toBe('1');
    expect(Number(second.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
  });

  it('when another client asks, then its budget is separate', async () => {
    const response = await t.app.inject({ url: '/api/v1/x', remoteAddress: '10.1.1.4' });
    expect(response.headers['x-ratelimit-remaining']).toBe('2');
  });
});

const redisOk = await redisAvailable();
describe.skipIf(!redisOk)('rate limiting in Redis', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it('when two instances share Redis, then the limit holds across them', async () => {
    const prefix = `docket-test:shared-${Date.now()}:`;
    const a = await createTestApp({
      redis: true,
      config: { rateLimitMax: 2, redisKeyPrefix: prefix },
    });
    const b = await createTestApp({
      redis: true,
      config: { rateLimitMax: 2, redisKeyPrefix: prefix },
    });
    apps.push(a, b);
    const first = await a.app.inject({ url: '/api/v1/x', remoteAddress: '10.2.2.2' });
    const second = await b.app.inject({ url: '/api/v1/x', remoteAddress: '10.2.2.2' });
    const third = await a.app.inject({ url: '/api/v1/x', remoteAddress: '10.2.2.2' });
    expect([first.statusCode, second.statusCode, third.statusCode]).toEqual([404, 404, 429]);
    const ready = await a.app.inject({ url: '/health/ready' });
    expect(ready.json()).toMatchObject({ status: 'ok', redis: 'ok' });
  });
});
