import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * Each request leaves one flat log line (method, url, status, ms, request id) at `info`;
 * health probes, which arrive every few seconds, only at `debug`. Read from the logger's
 * own output stream.
 */
const PINO_DEBUG = 20;
const PINO_INFO = 30;

let atDebug: TestApp;
let atInfo: TestApp;
beforeAll(async () => {
  atDebug = await createTestApp({ captureLogs: true, config: { logLevel: 'debug' } });
  atInfo = await createTestApp({ captureLogs: true, config: { logLevel: 'info' } });
});
afterAll(async () => {
  await atDebug?.close();
  await atInfo?.close();
});

function linesFor(t: TestApp, requestId: string): Record<string, unknown>[] {
  return t.logs.filter((line) => line.request_id === requestId);
}

describe('request logging', () => {
  it.each([
    ['GET', '/api/v1/users/me', 401],
    ['GET', '/api/v1/nowhere?x=1', 404],
    ['POST', '/api/v1/auth/register', 422],
  ])(
    'when %s %s is answered, then one info line says what happened',
    async (method, url, status) => {
      const response = await atInfo.app.inject({
        method: method as 'GET' | 'POST',
        url,
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      expect(response.statusCode).toBe(status);
      const requestId = String(response.headers['x-request-id']);
      const completed = linesFor(atInfo, requestId).filter(
        (line) => line.msg === 'request completed',
      );
      expect(completed).toHaveLength(1);
      const [line] = completed;
      expect(line).toMatchObject({ level: PINO_INFO, method, url, status });
      // The problem's code is on that line; no second line is written for it.
      expect(line?.code).toBe(response.json<{ code: string }>().code);
      expect(linesFor(atInfo, requestId)).toHaveLength(1);
      expect(typeof line?.ms).toBe('number');
      expect(line).not.toHaveProperty('req');
      expect(line).not.toHaveProperty('res');
      expect(linesFor(atInfo, requestId).some((l) => l.msg === 'incoming request')).toBe(false);
    },
  );

  it('when a health probe is answered, then its line is at debug, and absent at info', async () => {
    for (const url of ['/health/live', '/health/ready']) {
      const probed = await atDebug.app.inject({ url });
      expect(probed.statusCode).toBe(200);
      const lines = linesFor(atDebug, String(probed.headers['x-request-id']));
      expect(lines).toEqual([
        expect.objectContaining({ level: PINO_DEBUG, msg: 'request completed', url, status: 200 }),
      ]);

      const quiet = await atInfo.app.inject({ url });
      expect(quiet.statusCode).toBe(200);
      expect(linesFor(atInfo, String(quiet.headers['x-request-id']))).toEqual([]);
    }
  });

  it('when the client sends a request id, then the line carries it', async () => {
    const response = await atInfo.app.inject({
      url: '/api/v1/users/me',
      headers: { 'x-request-id': 'trace-abc.123' },
    });
    expect(response.headers['x-request-id']).toBe('trace-abc.123');
    expect(linesFor(atInfo, 'trace-abc.123')).toContainEqual(
      expect.objectContaining({ msg: 'request completed', status: 401 }),
    );
  });
});
