import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.js';
import { useTestApp } from '../helpers/app.js';

const t = useTestApp({
  captureLogs: true,
  setup(app) {
    app.post(
      '/test/echo',
      {
        schema: {
          body: Type.Object(
            {
              title: Type.String({ minLength: 1, maxLength: 10 }),
              count: Type.Integer({ minimum: 0 }),
              tags: Type.Optional(Type.Array(Type.String(), { maxItems: 2 })),
            },
            { additionalProperties: false },
          ),
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
          }),
        },
      },
      async (request) => ({ ...request.body, limit: request.query.limit ?? null }),
    );
    app.get('/test/boom', async () => {
      throw new Error('relation "secret_table" does not exist at /srv/app.js:12');
    });
    app.get('/test/app-error', async () => {
      throw new AppError('task_not_found', 'Task 42 was not found.');
    });
  },
});

describe('errors', () => {
  it('when a route is unknown, then it is a 404 problem carrying the client request id', async () => {
    const response = await t.app.inject({
      url: '/api/v1/nothing',
      headers: { 'x-request-id': 'client-abc.1' },
    });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.headers['x-request-id']).toBe('client-abc.1');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.json()).toEqual({
      type: 'urn:docket:problem:route_not_found',
      title: 'Route not found',
      status: 404,
      detail: 'No route matches GET /api/v1/nothing.',
      code: 'route_not_found',
      request_id: 'client-abc.1',
    });
  });

  it('when the client request id is not a sane token, then a new one is generated', async () => {
    const response = await t.app.inject({
      url: '/nothing',
      headers: { 'x-request-id': 'bad id\twith<stuff>' },
    });
    const id = response.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.json()).toMatchObject({ request_id: id });
  });

  it('when the body is malformed JSON, then it is 400 malformed_json', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"title": ',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'malformed_json', status: 400 });
  });

  it('when the content type is not JSON, then it is 415', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 'unsupported_media_type' });
  });

  it('when the body is over 1 MiB, then it is 413', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ title: 'x'.repeat(1024 * 1024) }),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'payload_too_large' });
  });

  it('when several fields are invalid, then 422 lists every one of them', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/test/echo?limit=500',
      payload: { title: '', count: '3', tags: ['a', 'b', 'c'], extra: true },
    });
    expect(response.statusCode).toBe(422);
    const body = response.json<{
      code: string;
      errors: { location: string; field: string; code: string }[];
    }>();
    expect(body.code).toBe('validation_failed');
    const fields = body.errors.map((error) => [error.location, error.field, error.code]);
    expect(fields).toEqual(
      expect.arrayContaining([
        ['body', 'title', 'too_short'],
        ['body', 'count', 'invalid_type'],
        ['body', 'tags', 'too_many'],
        ['body', 'extra', 'unknown_field'],
        ['query', 'limit', 'too_large'],
      ]),
    );
    expect(fields).toHaveLength(5);
  });

  it('when a required field is missing, then it is named', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      payload: { title: 'ok' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      errors: [{ location: 'body', field: 'count', code: 'missing', message: 'is required' }],
    });
  });

  it('when the input is valid, then the handler gets typed values', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/test/echo?limit=5',
      payload: { title: 'ok', count: 2 },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ title: 'ok', count: 2, limit: 5 });
  });

  it('when a handler throws an AppError, then its code and status are answered', async () => {
    const response = await t.app.inject({ url: '/test/app-error' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({
      code: 'task_not_found',
      detail: 'Task 42 was not found.',
    });
  });

  it('when a handler fails unexpectedly, then 500 hides internals and the log has the request id', async () => {
    const response = await t.app.inject({
      url: '/test/boom',
      headers: { 'x-request-id': 'boom-1' },
    });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('secret_table');
    expect(response.body).not.toContain('/srv/app.js');
    expect(response.json()).toMatchObject({ code: 'internal_error', request_id: 'boom-1' });
    const logged = t.logs.find((line) => line.request_id === 'boom-1' && line.level === 50);
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('secret_table');
  });

  it('when a request is logged, then the authorization header is redacted', async () => {
    await t.app.inject({
      url: '/api/v1/projects',
      headers: { authorization: 'Bearer top-secret-token', 'x-request-id': 'redact-1' },
    });
    const lines = t.logs.filter((line) => line.request_id === 'redact-1');
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain('top-secret-token');
  });
});
