import type { Response as LightMyRequestResponse } from 'light-my-request';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { useTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { createProjectWithRoles, type ProjectFixture } from '../helpers/projects.js';
import { expectBodiesRefused, expectProblem, refusedCredentials } from '../helpers/refusals.js';

const PUBLIC_ADDRESS = '93.184.216.34';
const DNS: Record<string, string[]> = {
  'hooks.example.com': [PUBLIC_ADDRESS],
  'rebind.example.com': [PUBLIC_ADDRESS],
  'internal.example.com': [PUBLIC_ADDRESS, '10.1.2.3'],
  'mapped.example.com': ['::ffff:127.0.0.1'],
};

const ctx = useTestApp({
  resolveHost: async (hostname) => {
    const found = DNS[hostname];
    if (found) return found;
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  },
});

interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  version: number;
  secret?: string;
  previous_secret_expires_at: string | null;
}

async function createWebhook(
  app: App,
  projectId: string,
  by: TestUser,
  body: Record<string, unknown> = {},
) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/projects/${projectId}/webhooks`,
    headers: by.headers,
    payload: { url: 'https://hooks.example.com/docket', events: ['task.*'], ...body },
  });
}

async function madeWebhook(app: App, fixture: ProjectFixture): Promise<Webhook> {
  const response = await createWebhook(app, fixture.projectId, fixture.admin);
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Webhook>();
}

describe('webhook subscriptions', () => {
  it('when an admin creates one, then the secret is shown once and never again', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const response = await createWebhook(ctx.app, fixture.projectId, fixture.admin, {
      events: ['task.created', 'comment.*'],
      description: 'CI bot',
    });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json<Webhook & { description: string }>();
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret!.slice(6), 'base64')).toHaveLength(32);
    expect(created).toMatchObject({
      url: 'https://hooks.example.com/docket',
      events: ['task.created', 'comment.*'],
      description: 'CI bot',
      enabled: true,
      project_id: fixture.projectId,
    });
    expect(response.headers.location).toBe(`/api/v1/webhooks/${created.id}`);

    const fetched = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${created.id}`,
      headers: fixture.owner.headers,
    });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).not.toHaveProperty('secret');
    expect(fetched.body).not.toContain(created.secret);
    const listed = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/projects/${fixture.projectId}/webhooks`,
      headers: fixture.admin.headers,
    });
    expect(listed.json<{ items: Webhook[] }>().items.map((item) => item.id)).toEqual([created.id]);
    expect(listed.body).not.toContain('whsec_');

    const notModified = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${created.id}`,
      headers: { ...fixture.admin.headers, 'if-none-match': fetched.headers.etag as string },
    });
    expect(notModified.statusCode).toBe(304);
  });

  it('when an editor, a viewer or an outsider calls, then 403, 403 and 404', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const webhook = await madeWebhook(ctx.app, fixture);
    const calls = [
      { method: 'GET' as const, url: `/api/v1/projects/${fixture.projectId}/webhooks` },
      {
        method: 'POST' as const,
        url: `/api/v1/projects/${fixture.projectId}/webhooks`,
        payload: { url: 'https://hooks.example.com/x', events: ['*'] },
      },
      { method: 'GET' as const, url: `/api/v1/webhooks/${webhook.id}` },
      {
        method: 'PATCH' as const,
        url: `/api/v1/webhooks/${webhook.id}`,
        payload: { enabled: false },
      },
      { method: 'DELETE' as const, url: `/api/v1/webhooks/${webhook.id}` },
      { method: 'POST' as const, url: `/api/v1/webhooks/${webhook.id}/rotate-secret` },
      { method: 'GET' as const, url: `/api/v1/webhooks/${webhook.id}/deliveries` },
      { method: 'POST' as const, url: `/api/v1/webhooks/${webhook.id}/ping` },
      {
        method: 'POST' as const,
        url: `/api/v1/webhooks/${webhook.id}/deliveries/01900000-0000-7000-8000-000000000000/redeliver`,
      },
    ];
    for (const [user, status] of [
      [fixture.editor, 403],
      [fixture.viewer, 403],
      [fixture.outsider, 404],
    ] as const) {
      for (const call of calls) {
        const response = await ctx.app.inject({ ...call, headers: user.headers });
        expect(response.statusCode, `${call.method} ${call.url}: ${response.body}`).toBe(status);
      }
    }
    const anonymous = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${webhook.id}`,
    });
    expect(anonymous.statusCode).toBe(401);
    // Nothing above changed it.
    const still = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${webhook.id}`,
      headers: fixture.owner.headers,
    });
    expect(still.json()).toMatchObject({ enabled: true, version: 1 });
  });

  it.each([
    ['http://127.0.0.1/hook', 'address_not_allowed'],
    ['http://localhost/hook', 'address_not_allowed'],
    ['http://api.localhost/hook', 'address_not_allowed'],
    ['http://2130706433/hook', 'address_not_allowed'],
    ['http://0177.0.0.1/hook', 'address_not_allowed'],
    ['http://0x7f.1/hook', 'address_not_allowed'],
    ['http://127.1/hook', 'address_not_allowed'],
    ['http://0.0.0.0/hook', 'address_not_allowed'],
    ['http://10.0.0.1/hook', 'address_not_allowed'],
    ['http://172.16.5.4/hook', 'address_not_allowed'],
    ['http://192.168.1.1/hook', 'address_not_allowed'],
    ['http://100.64.0.1/hook', 'address_not_allowed'],
    ['http://169.254.169.254/latest/meta-data', 'address_not_allowed'],
    ['http://224.0.0.1/hook', 'address_not_allowed'],
    ['http://255.255.255.255/hook', 'address_not_allowed'],
    ['http://[::1]/hook', 'address_not_allowed'],
    ['http://[::]/hook', 'address_not_allowed'],
    ['http://[::ffff:127.0.0.1]/hook', 'address_not_allowed'],
    ['http://[::ffff:7f00:1]/hook', 'address_not_allowed'],
    ['http://[fc00::1]/hook', 'address_not_allowed'],
    ['http://[fd00:ec2::254]/latest', 'address_not_allowed'],
    ['http://[fe80::1]/hook', 'address_not_allowed'],
    ['http://[ff02::1]/hook', 'address_not_allowed'],
    ['http://internal.example.com/hook', 'address_not_allowed'],
    ['http://mapped.example.com/hook', 'address_not_allowed'],
    ['ftp://hooks.example.com/hook', 'scheme_not_allowed'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    ['javascript:alert(1)', 'scheme_not_allowed'],
    ['https://user:secret@hooks.example.com/hook', 'credentials_not_allowed'],
    ['https://hooks.example.com:8443/hook', 'port_not_allowed'],
    ['http://hooks.example.com:22/hook', 'port_not_allowed'],
    ['not a url', 'invalid_url'],
  ])('when the URL is %s, then saving it is 422 (%s)', async (url, code) => {
    const owner = await createUser(ctx.app);
    const project = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: owner.headers,
      payload: { name: 'P' },
    });
    const response = await createWebhook(ctx.app, project.json<{ id: string }>().id, owner, {
      url,
    });
    expect(response.statusCode, response.body).toBe(422);
    expect(response.json()).toMatchObject({
      code: 'webhook_url_forbidden',
      errors: [{ location: 'body', field: 'url', code }],
    });
  });

  it.each([
    `http://${PUBLIC_ADDRESS}/hook`,
    'https://hooks.example.com:443/hook?x=1',
    'https://unknown-yet.example.net/hook',
  ])('when the URL is %s, then it is accepted', async (url) => {
    const fixture = await createProjectWithRoles(ctx.app);
    const response = await createWebhook(ctx.app, fixture.projectId, fixture.owner, { url });
    expect(response.statusCode, response.body).toBe(201);
  });

  it('when a PATCH names a forbidden URL or a stale version, then 422 and 412 and nothing changes', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const webhook = await madeWebhook(ctx.app, fixture);
    const url = `/api/v1/webhooks/${webhook.id}`;
    const forbidden = await ctx.app.inject({
      method: 'PATCH',
      url,
      headers: fixture.admin.headers,
      payload: { url: 'http://[::ffff:10.0.0.1]/' },
    });
    expect(forbidden.statusCode).toBe(422);
    expect(forbidden.json()).toMatchObject({ code: 'webhook_url_forbidden' });
    const stale = await ctx.app.inject({
      method: 'PATCH',
      url,
      headers: { ...fixture.admin.headers, 'if-match': '"v7"' },
      payload: { enabled: false },
    });
    expect(stale.statusCode).toBe(412);
    const changed = await ctx.app.inject({
      method: 'PATCH',
      url,
      headers: { ...fixture.admin.headers, 'if-match': '"v1"' },
      payload: { events: ['*'], enabled: false, description: 'off for now' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ events: ['*'], enabled: false, version: 2 });
    expect(changed.headers.etag).toBe('"v2"');
    const ping = await ctx.app.inject({
      method: 'POST',
      url: `${url}/ping`,
      headers: fixture.admin.headers,
    });
    expect(ping.statusCode).toBe(409);
    expect(ping.json()).toMatchObject({ code: 'webhook_disabled' });
  });

  it('when the secret is rotated, then a new one is shown and the old one has an end', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const response = await createWebhook(ctx.app, fixture.projectId, fixture.admin);
    const webhook = response.json<Webhook>();
    const rotated = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${webhook.id}/rotate-secret`,
      headers: fixture.owner.headers,
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const body = rotated.json<Webhook>();
    expect(body.secret).toMatch(/^whsec_/);
    expect(body.secret).not.toBe(webhook.secret);
    const expires = Date.parse(body.previous_secret_expires_at ?? '');
    expect(expires - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
  });

  it.each([
    [{ url: 'https://hooks.example.com/x', events: [] }],
    [{ url: 'https://hooks.example.com/x', events: ['task.exploded'] }],
    [{ url: 'https://hooks.example.com/x', events: ['task.*', 'task.*'] }],
    [{ url: 'https://hooks.example.com/x' }],
    [{ events: ['*'] }],
    [{ url: `https://hooks.example.com/${'a'.repeat(2100)}`, events: ['*'] }],
    [{ url: 'https://hooks.example.com/x', events: ['*'], description: 'd'.repeat(501) }],
    [{ url: 'https://hooks.example.com/x', events: ['*'], secret: 'whsec_mine' }],
  ])('when the body is %o, then 422', async (payload) => {
    const fixture = await createProjectWithRoles(ctx.app);
    const response = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${fixture.projectId}/webhooks`,
      headers: fixture.admin.headers,
      payload,
    });
    expect(response.statusCode, response.body).toBe(422);
    expect(response.json()).toMatchObject({ code: 'validation_failed' });
  });

  it('when listing page by page, then every webhook comes once; a bad cursor or limit is refused', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await madeWebhook(ctx.app, fixture)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response: LightMyRequestResponse = await ctx.app.inject({
        method: 'GET',
        url: `/api/v1/projects/${fixture.projectId}/webhooks`,
        headers: fixture.admin.headers,
        query: { limit: '2', ...(cursor ? { cursor } : {}) },
      });
      expect(response.statusCode).toBe(200);
      const page: { items: Webhook[]; next_cursor: string | null } = response.json<{
        items: Webhook[];
        next_cursor: string | null;
      }>();
      seen.push(...page.items.map((item) => item.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);
    for (const [query, status] of [
      [{ limit: '0' }, 422],
      [{ limit: '201' }, 422],
      [{ cursor: 'bm9wZQ' }, 400],
    ] as const) {
      const response = await ctx.app.inject({
        method: 'GET',
        url: `/api/v1/projects/${fixture.projectId}/webhooks`,
        headers: fixture.admin.headers,
        query,
      });
      expect(response.statusCode, JSON.stringify(query)).toBe(status);
    }
    const deliveries = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${ids[0]}/deliveries?cursor=bm9wZQ`,
      headers: fixture.admin.headers,
    });
    expect(deliveries.statusCode).toBe(400);
  });

  it('when the webhook or delivery does not exist, then 404; a malformed id is 422', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const webhook = await madeWebhook(ctx.app, fixture);
    const missing = '01900000-0000-7000-8000-000000000000';
    for (const [method, url, code] of [
      ['GET', `/api/v1/webhooks/${missing}`, 'webhook_not_found'],
      ['DELETE', `/api/v1/webhooks/${missing}`, 'webhook_not_found'],
      ['POST', `/api/v1/webhooks/${missing}/ping`, 'webhook_not_found'],
      [
        'POST',
        `/api/v1/webhooks/${webhook.id}/deliveries/${missing}/redeliver`,
        'delivery_not_found',
      ],
      ['GET', `/api/v1/projects/${missing}/webhooks`, 'project_not_found'],
    ] as const) {
      const response = await ctx.app.inject({ method, url, headers: fixture.admin.headers });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json()).toMatchObject({ code });
    }
    const malformed = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/webhooks/not-a-uuid',
      headers: fixture.admin.headers,
    });
    expect(malformed.statusCode).toBe(422);
  });

  it('when a body is malformed, not JSON or over 1 MiB, or the credential is missing, made up or expired, then a problem says which and nothing changes', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const webhook = await madeWebhook(ctx.app, fixture);
    const delivery = '01900000-0000-7000-8000-000000000000';
    const writes = [
      ['POST', `/api/v1/projects/${fixture.projectId}/webhooks`],
      ['PATCH', `/api/v1/webhooks/${webhook.id}`],
      ['POST', `/api/v1/webhooks/${webhook.id}/rotate-secret`],
      ['POST', `/api/v1/webhooks/${webhook.id}/ping`],
      ['POST', `/api/v1/webhooks/${webhook.id}/deliveries/${delivery}/redeliver`],
    ] as const;
    for (const [method, url] of writes) {
      await expectBodiesRefused(ctx.app, method, url, fixture.admin.headers);
    }
    const calls = [
      ...writes,
      ['GET', `/api/v1/projects/${fixture.projectId}/webhooks`],
      ['GET', `/api/v1/webhooks/${webhook.id}`],
      ['GET', `/api/v1/webhooks/${webhook.id}/deliveries`],
      ['DELETE', `/api/v1/webhooks/${webhook.id}`],
    ] as const;
    for (const [name, headers, code] of await refusedCredentials(ctx.app, fixture.admin)) {
      for (const [method, url] of calls) {
        const response = await ctx.app.inject({ method, url, headers });
        expectProblem(response, 401, code, `${method} ${url} with ${name}`);
      }
    }
    const still = await ctx.app.inject({
      url: `/api/v1/webhooks/${webhook.id}`,
      headers: fixture.admin.headers,
    });
    expect(still.json()).toMatchObject({ version: 1, previous_secret_expires_at: null });
    const deliveries = await ctx.app.inject({
      url: `/api/v1/webhooks/${webhook.id}/deliveries`,
      headers: fixture.admin.headers,
    });
    expect(deliveries.json()).toMatchObject({ items: [] });
  });

  it('when a list gets an unknown parameter or a cursor it did not issue, or a path id is malformed, then 422 or 400 name it', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const webhook = await madeWebhook(ctx.app, fixture);
    const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const lists = [
      `/api/v1/projects/${fixture.projectId}/webhooks`,
      `/api/v1/webhooks/${webhook.id}/deliveries`,
    ];
    for (const url of lists) {
      for (const [query, status, code, field] of [
        ['?since=yesterday', 422, 'validation_failed', 'since'],
        ['?cursor=a&cursor=b', 422, 'validation_failed', 'cursor'],
        [`?cursor=${'a'.repeat(600)}`, 422, 'validation_failed', 'cursor'],
        ['?limit=ten', 422, 'validation_failed', 'limit'],
        ['?cursor=', 400, 'invalid_cursor', null],
        [`?cursor=${cursorOf({ after: 1 })}`, 400, 'invalid_cursor', null],
        [`?cursor=${cursorOf(['2016-12-31T23:59:60Z', 'nope'])}`, 400, 'invalid_cursor', null],
      ] as const) {
        const response = await ctx.app.inject({ url: url + query, headers: fixture.admin.headers });
        expectProblem(response, status, code, url + query);
        if (field !== null) {
          expect(response.json().errors, query).toEqual([
            expect.objectContaining({ location: 'query', field }),
          ]);
        }
      }
    }
    const malformed = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${webhook.id}/deliveries/not-a-uuid/redeliver`,
      headers: fixture.admin.headers,
    });
    expectProblem(malformed, 422, 'validation_failed', 'redeliver');
    expect(malformed.json().errors).toEqual([
      expect.objectContaining({ location: 'path', field: 'delivery_id', code: 'invalid_format' }),
    ]);
  });

  it('when a name resolves to a private address only at delivery, then the delivery is refused', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const response = await createWebhook(ctx.app, fixture.projectId, fixture.admin, {
      url: 'http://rebind.example.com/hook',
    });
    expect(response.statusCode, response.body).toBe(201);
    const webhook = response.json<Webhook>();
    DNS['rebind.example.com'] = ['127.0.0.1'];
    await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${fixture.projectId}/tasks`,
      headers: fixture.owner.headers,
      payload: { title: 'T' },
    });
    let items: { status_code: number | null; error: string | null; succeeded: boolean }[] = [];
    for (let tries = 0; tries < 300 && items.length === 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const log = await ctx.app.inject({
        method: 'GET',
        url: `/api/v1/webhooks/${webhook.id}/deliveries`,
        headers: fixture.admin.headers,
      });
      items = log.json<{ items: typeof items }>().items;
    }
    expect(items[0]).toMatchObject({ succeeded: false, status_code: null });
    expect(items[0]!.error).toMatch(/^refused: .*127\.0\.0\.1.*loopback/);
  });

  it('when a webhook is deleted, then it is gone', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const webhook = await madeWebhook(ctx.app, fixture);
    const deleted = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/webhooks/${webhook.id}`,
      headers: { ...fixture.owner.headers, 'if-match': '"v1"' },
    });
    expect(deleted.statusCode).toBe(204);
    const after = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${webhook.id}`,
      headers: fixture.owner.headers,
    });
    expect(after.statusCode).toBe(404);
  });
});
