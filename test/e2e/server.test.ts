import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';
import { freePort, startServer, waitUntilReady } from '../helpers/server-process.js';

const SECRET = 'e2e-secret-that-is-long-enough-for-hs256-0123456789';

/** The status of a whole answer; an answer cut off after it began fails as RESPONSE_CUT. */
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let started = false;
    const cut = () =>
      reject(Object.assign(new Error('response cut off'), { code: 'RESPONSE_CUT' }));
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      started = true;
      res.resume();
      res.on('aborted', cut);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error) => (started ? cut() : reject(error)));
    req.end();
  });
}

describe('the server process', () => {
  it('when PORT is not a number, then it exits non-zero naming PORT', async () => {
    const server = startServer({ PORT: 'abc' }, 0);
    expect(await server.exit).not.toBe(0);
    expect(server.output()).toContain('PORT');
  });

  it('when production has no JWT_SECRET, then it exits non-zero naming JWT_SECRET', async () => {
    const server = startServer({ NODE_ENV: 'production' }, await freePort());
    expect(await server.exit).not.toBe(0);
    expect(server.output()).toContain('JWT_SECRET');
  });

  it('when started on the embedded database, then it is ready, and again after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-e2e-'));
    const env = { NODE_ENV: 'production', JWT_SECRET: SECRET, DATA_DIR: dataDir };
    for (let run = 0; run < 2; run += 1) {
      const server = startServer(env, await freePort());
      await waitUntilReady(server);
      server.child.kill('SIGTERM');
      expect(await server.exit).toBe(0);
    }
  });

  it('when SIGTERM arrives under load, then accepted requests finish and it exits 0 before its shutdown deadline', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-e2e-'));
    const server = startServer(
      { NODE_ENV: 'production', JWT_SECRET: SECRET, DATA_DIR: dataDir },
      await freePort(),
    );
    await waitUntilReady(server);
    const results = Array.from({ length: 60 }, (_, i) =>
      get(server.port, i % 2 === 0 ? '/openapi.json' : '/health/live').then(
        (status) => ({ status, error: null as string | null }),
        (error: NodeJS.ErrnoException) => ({ status: 0, error: error.code ?? String(error) }),
      ),
    );
    server.child.kill('SIGTERM');
    const settled = await Promise.all(results);
    // Past SHUTDOWN_TIMEOUT_MS the server gives up and exits 1: 0 means it finished in time.
    expect(await server.exit).toBe(0);
    // A request either completed normally or got no answer at all: refused once the listener
    // closed, or reset by the kernel while still in the listener's accept queue (on a loaded
    // machine the drain delay can end before the event loop accepts them all). No answer is
    // cut off once begun (RESPONSE_CUT), and none is a 5xx other than the draining 503.
    for (const result of settled) {
      if (result.error !== null) expect(['ECONNREFUSED', 'ECONNRESET']).toContain(result.error);
      else expect([200, 503]).toContain(result.status);
    }
    expect(settled.filter((result) => result.status === 200).length).toBeGreaterThan(0);
  });
});

const pgOk = await postgresAvailable();
describe.skipIf(!pgOk)('the server process on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('when DATABASE_URL points at an empty database, then it migrates and is ready', async () => {
    database = await createTestDatabase();
    const env = { NODE_ENV: 'production', JWT_SECRET: SECRET, DATABASE_URL: database.url };
    const [a, b] = [startServer(env, await freePort()), startServer(env, await freePort())];
    // Two instances starting at once take turns on the migration lock.
    await Promise.all([waitUntilReady(a), waitUntilReady(b)]);
    expect(await get(a.port, '/health/ready')).toBe(200);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exit).toBe(0);
    expect(await b.exit).toBe(0);
  });
});
