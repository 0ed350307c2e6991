import { setTimeout as sleep } from 'node:timers/promises';
import type { Response as LightMyRequestResponse } from 'light-my-request';
import { sql } from 'drizzle-orm';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { webhooks } from '../../src/db/schema/index.js';
import { useTestApp } from '../helpers/app.js';
import { createProjectWithRoles, createTask, type ProjectFixture } from '../helpers/projects.js';
import { type Receiver, startReceiver } from './receiver.js';

const ctx = useTestApp({
  config: {
    webhookAllowPrivate: true,
    webhookRetryDelaysSeconds: [1, 1, 1],
    webhookTimeoutMs: 1_000,
    jobPollIntervalMs: 500,
  },
});

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  succeeded: boolean;
  status_code: number | null;
  error: string | null;
  next_retry_at: string | null;
  created_at: string;
}

interface Body {
  id: string;
  type: string;
  timestamp: string;
  project_id: string;
  actor_id: string | null;
  data: Record<string, unknown>;
}

let paths = 0;
async function subscribe(
  app: App,
  fixture: ProjectFixture,
  events: string[] = ['task.*'],
): Promise<{ id: string; secret: string; path: string }> {
  paths += 1;
  const path = `/hook-${paths}`;
  const response = await app.inject({
    method: 'POST',
    url: `/api/v1/projects/${fixture.projectId}/webhooks`,
    headers: fixture.admin.headers,
    payload: { url: `${receiver.url}${path}`, events },
  });
  expect(response.statusCode, response.body).toBe(201);
  return { ...response.json<{ id: string; secret: string }>(), path };
}

async function deliveries(app: App, fixture: ProjectFixture, id: string): Promise<Delivery[]> {
  const response = await app.inject({
    method: 'GET',
    url: `/api/v1/webhooks/${id}/deliveries`,
    headers: fixture.admin.headers,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ items: Delivery[] }>().items;
}

/** The log, oldest first, once it has `count` attempts. */
async function waitForLog(
  app: App,
  fixture: ProjectFixture,
  id: string,
  count: number,
): Promise<Delivery[]> {
  for (let tries = 0; tries < 300; tries += 1) {
    const items = await deliveries(app, fixture, id);
    if (items.length >= count) return items.reverse();
    await sleep(50);
  }
  throw new Error(`fewer than ${count} attempts were logged`);
}

function verify(secret: string, request: { headers: Record<string, string>; body: string }): Body {
  return new StandardWebhook(secret).verify(request.body, request.headers) as Body;
}

describe('webhook deliveries', () => {
  it('when a task is created, then the receiver gets it signed, verifiable by Standard Webhooks', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    const other = await subscribe(ctx.app, fixture, ['comment.*']);
    const task = await createTask(ctx.app, fixture.projectId, fixture.editor, { title: 'Ship it' });

    const [request] = await receiver.waitFor(hook.path);
    const body = verify(hook.secret, request!);
    expect(body).toMatchObject({
      type: 'task.created',
      project_id: fixture.projectId,
      actor_id: fixture.editor.user.id,
      data: { id: task.id, title: 'Ship it' },
    });
    expect(Object.keys(body).sort()).toEqual(
      ['actor_id', 'data', 'id', 'project_id', 'timestamp', 'type'].sort(),
    );
    expect(request!.headers['webhook-id']).toBe(body.id);
    expect(request!.headers['user-agent']).toBe('Docket-Webhooks/0.1.0');
    expect(request!.headers['content-type']).toBe('application/json');
    // A wrong secret fails the oracle: the check above can fail.
    expect(() => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, request!)).toThrow();

    const [logged] = await waitForLog(ctx.app, fixture, hook.id, 1);
    expect(logged).toMatchObject({
      event_id: body.id,
      event_type: 'task.created',
      attempt: 1,
      succeeded: true,
      status_code: 204,
      error: null,
      next_retry_at: null,
    });
    // The comment-only subscription heard nothing.
    expect(receiver.received.filter((entry) => entry.path === other.path)).toEqual([]);
  });

  it('when the receiver fails with 500 and then times out, then it is retried with the same webhook-id until it succeeds', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    let calls = 0;
    receiver.on(hook.path, async (_request, response) => {
      calls += 1;
      if (calls === 1) response.writeHead(500).end('boom');
      else if (calls === 2) await sleep(2_500).then(() => response.writeHead(200).end());
      else response.writeHead(200).end('ok');
    });
    await createTask(ctx.app, fixture.projectId, fixture.owner);

    const requests = await receiver.waitFor(hook.path, 3);
    const ids = requests.map((request) => verify(hook.secret, request).id);
    expect(new Set(ids).size).toBe(1);
    const log = await waitForLog(ctx.app, fixture, hook.id, 3);
    expect(log.map((entry) => [entry.attempt, entry.succeeded, entry.status_code])).toEqual([
      [1, false, 500],
      [2, false, null],
      [3, true, 200],
    ]);
    expect(log[1]!.error).toMatch(/timed out/);
    expect(log[0]!.next_retry_at).not.toBeNull();
    expect(log[2]!.next_retry_at).toBeNull();
    expect(new Set(log.map((entry) => entry.event_id))).toEqual(new Set([ids[0]]));
  });

  it('when the receiver keeps failing, then attempts stop after the schedule', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    receiver.on(hook.path, (_request, response) => {
      response.writeHead(503, { 'retry-after': '2' }).end();
    });
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const log = await waitForLog(ctx.app, fixture, hook.id, 4);
    expect(log.map((entry) => entry.attempt)).toEqual([1, 2, 3, 4]);
    expect(log[3]!.next_retry_at).toBeNull();
    // Retry-After (2 s) outweighs the 1 s schedule.
    const waited = Date.parse(log[0]!.next_retry_at!) - Date.parse(log[0]!.created_at);
    expect(waited).toBeGreaterThanOrEqual(1_990);
    const webhook = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${hook.id}`,
      headers: fixture.admin.headers,
    });
    expect(webhook.json()).toMatchObject({ enabled: true });
    expect(webhook.json<{ failing_since: string | null }>().failing_since).not.toBeNull();
  });

  it('when the receiver answers 410, then the webhook is disabled at once and its admins are mailed', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    receiver.on(hook.path, (_request, response) => {
      response.writeHead(410).end();
    });
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const log = await waitForLog(ctx.app, fixture, hook.id, 1);
    expect(log[0]).toMatchObject({ status_code: 410, succeeded: false, next_retry_at: null });
    const webhook = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${hook.id}`,
      headers: fixture.admin.headers,
    });
    expect(webhook.json()).toMatchObject({ enabled: false, disabled_reason: 'gone' });
    const mailed = await mailsTo(ctx.app, hook.id);
    expect(mailed.sort()).toEqual([fixture.owner.user.email, fixture.admin.user.email].sort());
    // Nothing more is sent, even for new events.
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    await sleep(1_500);
    expect(receiver.received.filter((entry) => entry.path === hook.path)).toHaveLength(1);
  });

  it('when an endpoint has failed for 5 days, then the next failure disables it and mails the admins', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    receiver.on(hook.path, (_request, response) => {
      response.writeHead(500).end();
    });
    await ctx.app.db.execute(
      sql`update ${webhooks} set failing_since = now() - interval '5 days 1 minute' where id = ${hook.id}`,
    );
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const log = await waitForLog(ctx.app, fixture, hook.id, 1);
    expect(log[0]).toMatchObject({ status_code: 500, next_retry_at: null });
    const webhook = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${hook.id}`,
      headers: fixture.admin.headers,
    });
    expect(webhook.json()).toMatchObject({ enabled: false, disabled_reason: 'failing' });
    expect(await mailsTo(ctx.app, hook.id)).toHaveLength(2);

    // Turning it on again starts afresh.
    const enabled = await ctx.app.inject({
      method: 'PATCH',
      url: `/api/v1/webhooks/${hook.id}`,
      headers: fixture.admin.headers,
      payload: { enabled: true },
    });
    expect(enabled.json()).toMatchObject({
      enabled: true,
      disabled_reason: null,
      failing_since: null,
    });
  });

  it('when the receiver redirects, then the redirect is not followed and counts as a failure', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    receiver.on(hook.path, (_request, response) => {
      response.writeHead(302, { location: `${receiver.url}/redirected` }).end();
    });
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const log = await waitForLog(ctx.app, fixture, hook.id, 2);
    expect(log[0]).toMatchObject({ status_code: 302, succeeded: false });
    expect(log[0]!.error).toMatch(/redirect/);
    expect(receiver.received.filter((entry) => entry.path === '/redirected')).toEqual([]);
  });

  it('when the answer is huge and never ends, then 64 KiB are read and the attempt still succeeds', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    receiver.on(hook.path, (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write(Buffer.alloc(200 * 1024, 'x'));
      // Never ended: only the read limit lets the sender finish before its timeout.
    });
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const log = await waitForLog(ctx.app, fixture, hook.id, 1);
    expect(log[0]).toMatchObject({ succeeded: true, status_code: 200, attempt: 1 });
  });

  it('when the secret is rotated, then deliveries carry both signatures and each verifies', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    const rotated = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${hook.id}/rotate-secret`,
      headers: fixture.admin.headers,
    });
    const { secret } = rotated.json<{ secret: string }>();
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const [request] = await receiver.waitFor(hook.path);
    expect(request!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(secret, request!).type).toBe('task.created');
    expect(verify(hook.secret, request!).type).toBe('task.created');

    // Once the overlap has passed, only the new secret signs.
    await ctx.app.db.execute(
      sql`update ${webhooks} set previous_secret_expires_at = now() - interval '1 second' where id = ${hook.id}`,
    );
    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const [, later] = await receiver.waitFor(hook.path, 2);
    expect(later!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verify(secret, later!).type).toBe('task.created');
    expect(() => verify(hook.secret, later!)).toThrow();
  });

  it('when pinged and redelivered, then each is one more signed attempt with its own log row', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    const ping = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${hook.id}/ping`,
      headers: fixture.owner.headers,
    });
    expect(ping.statusCode, ping.body).toBe(202);
    const [pinged] = await receiver.waitFor(hook.path);
    const pingBody = verify(hook.secret, pinged!);
    expect(pingBody).toMatchObject({
      id: ping.json<{ event_id: string }>().event_id,
      type: 'webhook.ping',
      project_id: fixture.projectId,
      actor_id: fixture.owner.user.id,
      data: { webhook_id: hook.id },
    });

    await createTask(ctx.app, fixture.projectId, fixture.owner);
    const log = await waitForLog(ctx.app, fixture, hook.id, 2);
    const taskAttempt = log.find((entry) => entry.event_type === 'task.created')!;
    const redeliver = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${hook.id}/deliveries/${taskAttempt.id}/redeliver`,
      headers: fixture.admin.headers,
    });
    expect(redeliver.statusCode, redeliver.body).toBe(202);
    expect(redeliver.json()).toEqual({ webhook_id: hook.id, event_id: taskAttempt.event_id });
    const requests = await receiver.waitFor(hook.path, 3);
    const ids = requests.map((request) => verify(hook.secret, request).id);
    expect(ids.filter((id) => id === taskAttempt.event_id)).toHaveLength(2);
    expect(await waitForLog(ctx.app, fixture, hook.id, 3)).toHaveLength(3);

    const editorTry = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${hook.id}/deliveries/${taskAttempt.id}/redeliver`,
      headers: fixture.editor.headers,
    });
    expect(editorTry.statusCode).toBe(403);
  });

  it('when one receiver is slow, then it never has more than 4 attempts at once and the others are not held up', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const slow = await subscribe(ctx.app, fixture);
    const fast = await subscribe(ctx.app, fixture);
    let inFlight = 0;
    let most = 0;
    receiver.on(slow.path, async (_request, response) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(500);
      inFlight -= 1;
      response.writeHead(200).end();
    });
    const tasks = 20;
    for (let i = 0; i < tasks; i += 1) await createTask(ctx.app, fixture.projectId, fixture.owner);
    await receiver.waitFor(fast.path, tasks);
    // At most 4 at a time, 0.5 s each: the slow one cannot have had them all yet.
    expect(receiver.received.filter((entry) => entry.path === slow.path).length).toBeLessThan(
      tasks,
    );
    await receiver.waitFor(slow.path, tasks, 60_000);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    const log = await waitForLog(ctx.app, fixture, slow.id, tasks);
    expect(log.every((entry) => entry.succeeded)).toBe(true);
  }, 90_000);

  it('when the log spans pages, then each attempt comes once, newest first', async () => {
    const fixture = await createProjectWithRoles(ctx.app);
    const hook = await subscribe(ctx.app, fixture);
    for (let i = 0; i < 3; i += 1) await createTask(ctx.app, fixture.projectId, fixture.owner);
    const all = (await waitForLog(ctx.app, fixture, hook.id, 3)).reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response: LightMyRequestResponse = await ctx.app.inject({
        method: 'GET',
        url: `/api/v1/webhooks/${hook.id}/deliveries`,
        headers: fixture.admin.headers,
        query: { limit: '2', ...(cursor === null ? {} : { cursor }) },
      });
      const page: { items: Delivery[]; next_cursor: string | null } = response.json<{
        items: Delivery[];
        next_cursor: string | null;
      }>();
      seen.push(...page.items.map((item) => item.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(all.map((entry) => entry.id));
  });
});

/** The recipients of the queued mails that name this webhook. */
async function mailsTo(app: App, webhookId: string): Promise<string[]> {
  const result = await app.db.execute(
    sql`select data->>'to' as "to" from pgboss.job where name = 'mail' and data->>'text' like ${`%${webhookId}%`}`,
  );
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
    to: string;
  }[];
  return rows.map((row) => row.to);
}
