import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { createProject } from '../helpers/projects.js';
import { redisAvailable } from '../helpers/services.js';
import { openSse, type SseClient } from '../helpers/sse.js';

const redisOk = await redisAvailable();
if (!redisOk) console.warn('Redis unreachable: the shared stream limit test is skipped');
let t: TestApp;
let base: string;
const open: SseClient[] = [];

beforeAll(async () => {
  t = await createTestApp({ redis: true, config: { realtimeMaxConnectionsPerUser: 2 } });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  for (const client of open) client.close();
  await t.close();
});

async function stream(headers: Record<string, string>, query = ''): Promise<SseClient> {
  const client = await openSse(`${base}/api/v1/events/stream${query}`, headers);
  open.push(client);
  return client;
}

describe.skipIf(!redisOk)('the per-user stream limit counted in Redis', () => {
  it('when opening fails after admission, then the place is given back; at the limit, 429', async () => {
    const owner = await createUser(t.app);
    const stranger = await createUser(t.app);
    const theirs = await createProject(t.app, stranger);
    for (let i = 0; i < 3; i += 1) {
      expect((await stream(owner.headers, `?project_id=${theirs}`)).status).toBe(404);
      expect((await stream({ ...owner.headers, 'last-event-id': 'bad!' })).status).toBe(400);
    }
    expect((await stream(owner.headers)).status).toBe(200);
    expect((await stream(owner.headers)).status).toBe(200);
    const refused = await stream(owner.headers);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    const keys = await t.app.redis?.keys(`${t.app.config.redisKeyPrefix}realtime:streams:*`);
    expect(keys).toHaveLength(1);
    expect(await t.app.redis?.zcard(keys?.[0] ?? '')).toBe(2);
  });
});

describe('the instance stream limit', () => {
  it('when the instance holds REALTIME_MAX_CONNECTIONS streams, then the next is 503 with Retry-After', async () => {
    const full = await createTestApp({ config: { realtimeMaxConnections: 1 } });
    try {
      const address = await full.app.listen({ port: 0, host: '127.0.0.1' });
      const [first, second] = [await createUser(full.app), await createUser(full.app)];
      const held = await openSse(`${address}/api/v1/events/stream`, first.headers);
      expect(held.status).toBe(200);
      const refused = await openSse(`${address}/api/v1/events/stream`, second.headers);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(JSON.parse(refused.body())).toMatchObject({ code: 'service_unavailable' });
      held.close();
    } finally {
      await full.close();
    }
  });
});
