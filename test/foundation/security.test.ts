import { describe, expect, it } from 'vitest';
import { securityHeaders } from '../../src/plugins/security.js';
import { useTestApp } from '../helpers/app.js';

const t = useTestApp({
  config: { corsOrigins: ['https://app.example.com'] },
  setup(app) {
    app.get('/test/large', async () => ({
      items: Array.from({ length: 500 }, (_, i) => ({ id: i, title: `task ${i}` })),
    }));
  },
});

describe('security middleware', () => {
  it('when any response is sent (an answer, a 404, a 401), then every security header is set, HSTS only in production', async () => {
    const expected = {
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'origin-agent-cluster': '?1',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-dns-prefetch-control': 'off',
      'x-download-options': 'noopen',
      'x-frame-options': 'SAMEORIGIN',
      'x-permitted-cross-domain-policies': 'none',
      'x-xss-protection': '0',
    };
    for (const url of ['/health/live', '/api/v1/nowhere', '/api/v1/tasks']) {
      const response = await t.app.inject({ url });
      expect(response.headers, url).toMatchObject(expected);
      expect(response.headers['strict-transport-security'], url).toBeUndefined();
      expect(response.headers['x-powered-by'], url).toBeUndefined();
    }
    const production = securityHeaders({ strictTransportSecurity: { maxAge: 31_536_000 } });
    expect(production['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('when an allowed origin asks, then CORS allows it and exposes the API headers', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/health/live',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization,if-match',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(preflight.headers['access-control-allow-methods']).toContain('PATCH');
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

    const response = await t.app.inject({
      url: '/health/live',
      headers: { origin: 'https://app.example.com' },
    });
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(response.headers['access-control-expose-headers']).toContain('ETag');
  });

  it('when another origin asks, then CORS grants nothing', async () => {
    const response = await t.app.inject({
      url: '/health/live',
      headers: { origin: 'https://evil.example' },
    });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/health/live',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('when the client accepts gzip, then large responses are compressed', async () => {
    const response = await t.app.inject({
      url: '/test/large',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(response.headers['content-encoding']).toBe('gzip');
    const plain = await t.app.inject({ url: '/test/large' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(response.rawPayload.length).toBeLessThan(plain.rawPayload.length);
  });
});
