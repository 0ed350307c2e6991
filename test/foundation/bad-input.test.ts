import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { createProject } from '../helpers/projects.js';

const t = useTestApp();

// Each case here was found by test/fuzz/openapi.fuzz.test.ts.
describe('input the database or the router cannot take', () => {
  it('when a body string holds a NUL character, then 422 names the field (not a 500)', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/tasks`,
      headers: owner.headers,
      payload: { title: 'a\u0000b', labels: ['ok', 'x\u0000'] },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().errors).toEqual([
      expect.objectContaining({ location: 'body', field: 'title', code: 'invalid_character' }),
      expect.objectContaining({ location: 'body', field: 'labels.1', code: 'invalid_character' }),
    ]);
  });

  it('when a body string holds a lone surrogate, then 422 names the field (not a 500)', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${projectId}`,
      headers: { ...owner.headers, 'content-type': 'application/json' },
      payload: '{"description":"\\ud800","name":"ok \\ud83d\\ude00"}',
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().errors).toEqual([
      expect.objectContaining({
        location: 'body',
        field: 'description',
        code: 'invalid_character',
      }),
    ]);
  });

  it('when a route ignores the query string, then a NUL there changes nothing', async () => {
    const response = await t.app.inject({ url: '/health/live?q=%00' });
    expect(response.statusCode).toBe(200);
  });

  it('when a search holds a NUL character, then 422 names the query field', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({ url: '/api/v1/tasks?q=a%00b', headers: owner.headers });
    expect(response.statusCode).toBe(422);
    expect(response.json().errors).toEqual([
      expect.objectContaining({ location: 'query', field: 'q', code: 'invalid_character' }),
    ]);
  });

  it.each([
    ['/api/v1/tasks', 'updated_since', '2016-12-31T23:59:60Z'],
    ['/api/v1/tasks', 'due_after', '0000-01-01T00:00:00Z'],
    ['/api/v1/tasks', 'due_before', '9999-12-31T23:00:00-05:00'],
  ])(
    'when %s?%s=%s, a time no database holds, then 422 names the query field',
    async (path, field, value) => {
      const owner = await createUser(t.app);
      const response = await t.app.inject({
        url: path,
        query: { [field]: value },
        headers: owner.headers,
      });
      expect(response.statusCode, response.body).toBe(422);
      expect(response.json().errors).toEqual([
        expect.objectContaining({ location: 'query', field, code: 'invalid_format' }),
      ]);
    },
  );

  it('when the token endpoint gets a NUL character, then 400 invalid_request', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&username=a%00@example.com&password=x',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_request');
  });

  it('when a path id is longer than any id, then 404 as a problem body', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      url: `/api/v1/tasks/${'a'.repeat(5000)}`,
      headers: owner.headers,
    });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['x-request-id']).toBeDefined();
    expect(response.json().code).toBe('route_not_found');
    expect(response.json().detail.length).toBeLessThanOrEqual(1000);
  });

  it('when a path is not valid percent-encoding, then 400 as a problem body', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      url: '/api/v1/tasks/%E0%A4%A',
      headers: owner.headers,
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().code).toBe('bad_request');
  });

  it('when a list gets a cursor it did not issue, then 400 and the document lists 400', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      url: '/api/v1/projects?cursor=%F0%9F%90%B0',
      headers: owner.headers,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('invalid_cursor');
    const document = (await t.app.inject({ url: '/openapi.json' })).json();
    expect(Object.keys(document.paths['/api/v1/projects'].get.responses)).toContain('400');
  });
});
