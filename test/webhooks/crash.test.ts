import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { type Config, testConfig } from '../../src/config.js';
import { createUser } from '../helpers/factories.js';
import { createProject, createTask } from '../helpers/projects.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';
import { type Receiver, startReceiver } from './receiver.js';

// Several processes on one database need PostgreSQL (PGlite belongs to one process).
const available = await postgresAvailable();

describe.skipIf(!available)('webhook fan-out across processes', () => {
  let database: TestDatabase;
  let receiver: Receiver;
  const apps: App[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await receiver.close();
    await database.drop();
  });

  function config(overrides: Partial<Config>): Config {
    return testConfig({
      databaseUrl: database.url,
      databasePoolSize: 3,
      // One secret for every process, so a token from one is good at the others.
      jwtSecret: 'webhook-crash-test-secret-of-at-least-32-bytes',
      rateLimitMax: 1_000_000,
      maxEventLoopDelayMs: 0,
      webhookAllowPrivate: true,
      jobPollIntervalMs: 500,
      ...overrides,
    });
  }

  async function start(overrides: Partial<Config>): Promise<App> {
    const app = await buildApp(config(overrides));
    apps.push(app);
    await app.ready();
    return app;
  }

  it('when deliveries were queued by a process that stopped before sending, then another one delivers each exactly once', async () => {
    // No workers: the fan-out is run by hand and nothing is ever sent from here.
    const enqueuer = await start({ workers: false });
    const owner = await createUser(enqueuer);
    const projectId = await createProject(enqueuer, owner);
    const created = await enqueuer.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/webhooks`,
      headers: owner.headers,
      payload: { url: `${receiver.url}/crash`, events: ['task.created'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    for (let i = 0; i < 3; i += 1) await createTask(enqueuer, projectId, owner);
    let queued = 0;
    for (let tries = 0; tries < 200 && queued < 3; tries += 1) {
      queued += (await enqueuer.services.webhookDispatcher.dispatchOnce()).jobs;
      if (queued < 3) await sleep(20);
    }
    expect(queued).toBe(3);
    await enqueuer.close();
    apps.splice(apps.indexOf(enqueuer), 1);
    expect(receiver.received).toEqual([]);

    // Two workers now share the database: the queued jobs run once, and neither fans out again.
    const first = await start({});
    await start({});
    await receiver.waitFor('/crash', 3);
    // New events, written while both fan out: each is queued by one of them only.
    for (let i = 0; i < 5; i += 1) await createTask(first, projectId, owner);
    await receiver.waitFor('/crash', 8);
    await sleep(2_500);
    const ids = receiver.received.map((request) => request.headers['webhook-id']);
    expect(ids).toHaveLength(8);
    expect(new Set(ids).size).toBe(8);
  });
});
