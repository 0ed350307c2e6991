import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { openSse } from '../helpers/sse.js';
import { isOpen, openWs } from '../helpers/ws-client.js';

let t: TestApp;
let base: string;

beforeAll(async () => {
  // Access tokens live 3 s here; credential checks are left at their 5 s, so what ends the
  // streams is the token's own expiry.
  t = await createTestApp({ config: { accessTokenTtlSeconds: 3 } });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await t.close();
});

describe('streams opened with an access token', () => {
  it('when the token expires, then the SSE stream ends, the socket closes 4401, and so does a stream from a ticket made with it', async () => {
    const user = await createUser(t.app);
    const ticket = await t.app.inject({
      method: 'POST',
      url: '/api/v1/realtime/tickets',
      headers: user.headers,
    });
    const sse = await openSse(`${base}/api/v1/events/stream`, user.headers);
    const fromTicket = await openSse(
      `${base}/api/v1/events/stream?ticket=${ticket.json<{ ticket: string }>().ticket}`,
    );
    const socket = await openWs(`${base.replace('http', 'ws')}/api/v1/ws`, user.headers);
    expect(sse.status).toBe(200);
    expect(fromTicket.status).toBe(200);
    if (!isOpen(socket)) throw new Error(`refused: ${socket.status}`);

    await sse.until(() => sse.ended, 'the SSE stream ends');
    await fromTicket.until(() => fromTicket.ended, 'the ticket stream ends');
    await socket.until(() => socket.closed !== null, 'the socket closes');
    expect(socket.closed?.code).toBe(4401);
    // The token is refused afterwards too, so a reconnect needs a new one.
    expect((await openSse(`${base}/api/v1/events/stream`, user.headers)).status).toBe(401);
  });
});
