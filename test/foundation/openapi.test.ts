import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

const t = useTestApp();

interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { in: string; name: string; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<
    string,
    { description: string; headers?: Record<string, unknown>; content?: Record<string, unknown> }
  >;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

async function operations(): Promise<[string, Operation][]> {
  const response = await t.app.inject({ url: '/openapi.json' });
  const document = response.json<{ paths: Record<string, Record<string, Operation>> }>();
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map(
      (method) => [`${method.toUpperCase()} ${path}`, item[method] as Operation] as const,
    ),
  ) as [string, Operation][];
}

/** Every string, array and integer under a request schema, with its path. */
function unbounded(schema: unknown, path: string, found: string[]): string[] {
  if (typeof schema !== 'object' || schema === null) return found;
  const node = schema as Record<string, unknown>;
  const types = ([] as unknown[]).concat(node.type ?? []);
  if (types.includes('string') && node.maxLength === undefined && node.enum === undefined) {
    if (node.const === undefined) found.push(path);
  }
  if (types.includes('array') && node.maxItems === undefined) found.push(path);
  if (types.includes('integer') && (node.minimum === undefined || node.maximum === undefined)) {
    found.push(path);
  }
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === 'object') unbounded(value, `${path}.${key}`, found);
  }
  return found;
}

describe('the OpenAPI document', () => {
  it('when listed, then every operation has a unique camelCase operationId', async () => {
    const ids = (await operations()).map(([, operation]) => operation.operationId);
    expect(ids.length).toBeGreaterThan(40);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('when read, then no response is a "Default Response" and problems are problem+json', async () => {
    for (const [name, operation] of await operations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(response.description, `${name} ${status}`).not.toMatch(/^Default Response$/);
        expect(response.description.length, `${name} ${status}`).toBeGreaterThan(5);
        if (Number(status) >= 400 && !name.includes('/auth/token') && !name.includes('/revoke')) {
          if (!name.includes('/health/')) {
            expect(Object.keys(response.content ?? {}), `${name} ${status}`).toEqual([
              'application/problem+json',
            ]);
          }
        }
      }
    }
  });

  it('when an operation is public, then it says so with security: []', async () => {
    const byName = new Map(await operations());
    expect(byName.get('POST /api/v1/auth/token')?.security).toEqual([]);
    expect(byName.get('GET /health/live')?.security).toEqual([]);
    expect(byName.get('GET /api/v1/tasks')?.security).not.toEqual([]);
  });

  it('when an operation is rate limited or needs a token, then it documents 429 and 401 with headers', async () => {
    const byName = new Map(await operations());
    const createTask = byName.get('POST /api/v1/projects/{id}/tasks');
    expect(Object.keys(createTask?.responses ?? {})).toEqual(
      expect.arrayContaining([
        '201',
        '400',
        '401',
        '403',
        '404',
        '409',
        '413',
        '415',
        '422',
        '429',
      ]),
    );
    expect(Object.keys(createTask?.responses['429']?.headers ?? {})).toEqual(
      expect.arrayContaining(['Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining']),
    );
    expect(Object.keys(createTask?.responses['201']?.headers ?? {})).toContain('X-RateLimit-Reset');
    expect(Object.keys(createTask?.responses['401']?.headers ?? {})).toContain('WWW-Authenticate');
    expect(Object.keys(byName.get('PATCH /api/v1/tasks/{id}')?.responses ?? {})).toContain('412');
  });

  it('when a request takes input, then every string, array and integer in it is bounded', async () => {
    const found: string[] = [];
    for (const [name, operation] of await operations()) {
      for (const parameter of operation.parameters ?? []) {
        unbounded(parameter.schema, `${name} ${parameter.in}.${parameter.name}`, found);
      }
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        unbounded(media.schema, `${name} body(${type})`, found);
      }
    }
    expect(found).toEqual([]);
  });

  it('when read, then the version is package.json’s and the licence is named', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const document = (await t.app.inject({ url: '/openapi.json' })).json();
    expect(document.info.version).toBe(pkg.version);
    expect(document.info.license.name).toMatch(/UNLICENSED/);
  });
});

describe('the docs pages', () => {
  it('when Swagger UI starts, then it loads /openapi.json, so its top bar shows that address', async () => {
    const initializer = await t.app.inject({ url: '/docs/static/swagger-initializer.js' });
    expect(initializer.statusCode).toBe(200);
    expect(initializer.body).toContain('url: "/openapi.json"');
    expect(initializer.body).not.toContain("resolveUrl('./json')");
  });

  it('when a browser asks for /favicon.ico, then it gets 204, not a 404', async () => {
    const response = await t.app.inject({ url: '/favicon.ico' });
    expect(response.statusCode).toBe(204);
    expect(response.headers['cache-control']).toContain('max-age');
  });
});
