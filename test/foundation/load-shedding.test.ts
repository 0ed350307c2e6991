import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

const t = useTestApp({ config: { maxEventLoopDelayMs: 50 } });

function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // Busy-wait on purpose: this is the saturation being tested.
  }
}

describe('load shedding', () => {
  it('when the event loop is saturated, then requests are shed with 503 and Retry-After, but not /metrics', async () => {
    let shed;
    let metrics;
    for (let attempt = 0; attempt < 20 && shed === undefined; attempt += 1) {
      blockEventLoop(300);
      await sleep(10);
      const response = await t.app.inject({ url: '/api/v1/anything' });
      if (response.statusCode === 503) {
        shed = response;
        metrics = await t.app.inject({ url: '/metrics' });
      }
    }
    expect(shed?.statusCode).toBe(503);
    expect(metrics?.statusCode).toBe(200);
    expect(shed?.headers['retry-after']).toBe('5');
    expect(shed?.json()).toMatchObject({ code: 'service_unavailable', status: 503 });
  });

  it('when the loop recovers, then requests are served again', async () => {
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 404; attempt += 1) {
      await sleep(100);
      status = (await t.app.inject({ url: '/api/v1/anything' })).statusCode;
    }
    expect(status).toBe(404);
  });
});
