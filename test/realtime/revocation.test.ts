import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { openSse, type SseClient } from '../helpers/sse.js';

/*
 * The periodic credential check is set to its longest (5 minutes) here, so a stream that ends
 * within the test's wait was ended by the revocation itself, not by the timer.
 */
let t: TestApp;
let base: string;
const open: SseClient[] = [];

beforeAll(async () => {
  t = await createTestApp({ config: { realtimeAuthCheckIntervalMs: 300_000 } });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  for (const client of open) client.close();
  await t.close();
});

async function liveStream(user: TestUser): Promise<SseClient> {
  const client = await openSse(`${base}/api/v1/events/stream`, user.headers);
  open.push(client);
  expect(client.status, client.body()).toBe(200);
  await client.until(() => client.comments.includes('live'), 'the stream goes live');
  return client;
}

describe('event streams and revocation', () => {
  it('when the session is revoked, then its stream ends at once, not at the next periodic check', async () => {
    const user = await createUser(t.app);
    const other = await createUser(t.app);
    const client = await liveStream(user);
    const bystander = await liveStream(other);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/me/sessions/${user.sessionId}`,
      headers: user.headers,
    });
    expect(revoked.statusCode).toBe(204);
    await client.until(() => client.ended, 'the stream ends');
    expect(bystander.ended).toBe(false);
  });

  it('when the user is deactivated, then the stream ends at once', async () => {
    const admin = await createUser(t.app, { isSuperuser: true });
    const user = await createUser(t.app);
    const client = await liveStream(user);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.user.id}`,
      headers: admin.headers,
      payload: { is_active: false },
    });
    expect(response.statusCode).toBe(200);
    await client.until(() => client.ended, 'the stream ends');
  });
});
