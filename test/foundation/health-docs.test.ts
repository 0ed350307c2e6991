import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

const t = useTestApp();

describe('health', () => {
  it('when the process is up, then live is 200', async () => {
    const response = await t.app.inject({ url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('when the database answers, then ready is 200 and names what it checked', async () => {
    const response = await t.app.inject({ url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', database: 'ok', redis: 'not_configured' });
  });

  it('when the process is draining, then ready is 503 while live stays 200', async () => {
    t.app.lifecycle.draining = true;
    try {
      const ready = await t.app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'unavailable', draining: true });
      expect((await t.app.inject({ url: '/health/live' })).statusCode).toBe(200);
    } finally {
      t.app.lifecycle.draining = false;
    }
  });

  it('when metrics are scraped, then request latency by route and status is exposed', async () => {
    await t.app.inject({ url: '/health/live' });
    const response = await t.app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health\/live",status_code="200"\} \d+/,
    );
    expect(response.body).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('docs', () => {
  it('when /openapi.json is fetched, then it is a valid OpenAPI 3.1 document', async () => {
    const response = await t.app.inject({ url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<{
      openapi: string;
      paths: Record<string, unknown>;
      components: { securitySchemes: Record<string, { type: string }> };
    }>();
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready', '/metrics']),
    );
    expect(document.components.securitySchemes.oauth2?.type).toBe('oauth2');
  });

  it('when the Swagger UI is opened, then every asset it names is served locally', async () => {
    const page = await t.app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toMatch(/https?:\/\//);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map(
      (match) => match[1] ?? '',
    );
    expect(assets.length).toBeGreaterThan(2);
    for (const asset of assets) {
      const url = asset.startsWith('/') ? asset : `/docs/${asset.replace(/^\.\//, '')}`;
      const response = await t.app.inject({ url });
      expect(response.statusCode, url).toBe(200);
    }
    const initializer = await t.app.inject({ url: '/docs/static/swagger-initializer.js' });
    // Only code comments may mention a remote address; nothing is loaded from one.
    const code = initializer.body.replace(/\/\/ .*$/gm, '');
    expect(code).not.toMatch(/https?:\/\//);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('when ReDoc is opened, then its bundle is served locally and the page links nothing remote', async () => {
    const page = await t.app.inject({ url: '/redoc' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.body).toContain('spec-url="/openapi.json"');
    expect(page.headers['content-security-policy']).toContain("worker-src 'self' blob:");
    const bundle = await t.app.inject({ url: '/redoc/redoc.standalone.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.headers['content-type']).toContain('javascript');
  });
});
