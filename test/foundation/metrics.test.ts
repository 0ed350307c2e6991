import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnop';
const t = useTestApp({ config: { metricsToken: METRICS_TOKEN, rateLimitMax: 3 } });

describe('/metrics with METRICS_TOKEN set', () => {
  it('when no token is sent, then 401 with a Bearer challenge and no figures', async () => {
    const response = await t.app.inject({ url: '/metrics', remoteAddress: '10.2.0.1' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(response.json()).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(response.body).not.toContain('http_request_duration_seconds');
  });

  it.each([
    ['another token', `Bearer ${METRICS_TOKEN.slice(0, -1)}x`, '10.2.1.1'],
    ['a longer token', `Bearer ${METRICS_TOKEN}x`, '10.2.1.2'],
    ['a prefix of it', `Bearer ${METRICS_TOKEN.slice(0, 8)}`, '10.2.1.3'],
    ['it as Basic credentials', `Basic ${METRICS_TOKEN}`, '10.2.1.4'],
  ])('when %s is sent, then 401 invalid_token', async (_what, authorization, remoteAddress) => {
    const response = await t.app.inject({
      url: '/metrics',
      headers: { authorization },
      remoteAddress,
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(response.json()).toMatchObject({ code: 'invalid_token' });
  });

  it('when the token is sent, then the figures come back', async () => {
    const response = await t.app.inject({
      url: '/metrics',
      headers: { authorization: `bearer ${METRICS_TOKEN}` },
      remoteAddress: '10.2.0.3',
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('http_request_duration_seconds');
  });

  it('when one client scrapes past its budget, with or without the token, then 429', async () => {
    const statuses: number[] = [];
    for (const authorization of [`Bearer ${METRICS_TOKEN}`, 'Bearer wrong', undefined, undefined]) {
      const response = await t.app.inject({
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
        remoteAddress: '10.2.0.4',
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([200, 401, 401, 429]);
  });
});
