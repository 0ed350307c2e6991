import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { newId } from '../../src/lib/ids.js';
import {
  EventRelay,
  type EventRelayOptions,
  type RelayedEvent,
} from '../../src/modules/activity/event-relay.js';
import { insertEvent } from '../../src/modules/activity/events.repository.js';
import { postgresHints, redisHints } from '../../src/modules/activity/relay-hints.js';
import { openRedis } from '../../src/plugins/redis.js';
import { createTestApp } from '../helpers/app.js';
import { createTestServices } from '../helpers/test-services.js';
import { createUser } from '../helpers/factories.js';
import { createProject, createTask } from '../helpers/projects.js';
import { postgresAvailable, REDIS_URL, redisAvailable, uniquePrefix } from '../helpers/services.js';

const pgOk = await postgresAvailable();
const redisOk = await redisAvailable();
if (!redisOk) console.warn('Redis unreachable: the Redis hint test is skipped');
if (!pgOk) {
  console.warn(
    'PostgreSQL unreachable: the concurrent-commit relay tests are skipped (PGlite has a single ' +
      'connection, so its transactions never overlap and cannot commit out of order)',
  );
}
const t = await createTestApp();
const quiet = { warn: () => undefined, info: () => undefined };
const HOUR = 3_600_000;
const relays: EventRelay[] = [];
const handles: DatabaseHandle[] = [];

afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.stop()));
  await Promise.all(handles.map((handle) => handle.close()));
  await t.close();
});

async function startRelay(options: Partial<EventRelayOptions> = {}): Promise<EventRelay> {
  const relay = new EventRelay({ db: t.app.db, log: quiet, ...options });
  relays.push(relay);
  await relay.start();
  return relay;
}

const has = (seen: RelayedEvent[], entityId: string) =>
  seen.some((d) => d.event.entity_id === entityId);

function collect(relay: EventRelay, projects: string[] | 'all' = 'all'): RelayedEvent[] {
  const seen: RelayedEvent[] = [];
  relay.subscribe(projects, (delivery) => seen.push(delivery));
  return seen;
}

/** Waits for a condition that must come true; the generous bound only ends a broken test. */
async function eventually(check: () => boolean, what: string, bound = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > bound) throw new Error(`never happened: ${what}`);
    await sleep(10);
  }
}

/** An event written behind the relay's back: no commit signal, no hint. */
async function writeSilently(projectId: string): Promise<string> {
  const id = newId();
  await t.app.db.execute(sql`
    insert into events (id, type, project_id, actor_id, entity_id, data)
    values (${id}, 'member.removed', ${projectId}, null, ${id}, ${JSON.stringify({ user_id: id })}::jsonb)`);
  return id;
}

describe('the event relay', () => {
  it('when a change commits, then the app’s relay hands its event to subscribers of that project only', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const other = await createProject(t.app, owner);
    const seen = collect(t.app.services.events, [projectId]);
    const everything = collect(t.app.services.events, 'all');
    const task = await createTask(t.app, projectId, owner, { title: 'relayed' });
    const elsewhere = await createTask(t.app, other, owner);
    await eventually(
      () => has(everything, task.id) && has(everything, elsewhere.id),
      'both tasks relayed',
    );
    const mine = seen.filter((d) => d.event.type === 'task.created');
    expect(mine).toHaveLength(1);
    expect(mine[0]?.event).toMatchObject({
      type: 'task.created',
      project_id: projectId,
      entity_id: task.id,
      data: { title: 'relayed' },
    });
    expect(seen.every((d) => d.event.project_id === projectId)).toBe(true);
  });

  it('when a relay starts, then it begins at the head: earlier events are not replayed', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    // A watcher that has delivered "before" proves it settled (no transaction left behind it).
    const watcher = collect(await startRelay({ pollIntervalMs: 100 }));
    const before = await createTask(t.app, projectId, owner, { title: 'before' });
    await eventually(() => has(watcher, before.id), 'the earlier task settled');
    const relay = await startRelay({ pollIntervalMs: HOUR });
    const seen = collect(relay);
    const after = await createTask(t.app, projectId, owner, { title: 'after' });
    await eventually(() => has(seen, after.id), 'the new task relayed');
    expect(has(seen, before.id)).toBe(false);
  });

  it('when a commit on this instance signals, then the relay reads at once, without its poll', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    // Its poll would take an hour: only the commit signal can wake it.
    const relay = await startRelay({ pollIntervalMs: HOUR });
    const seen = collect(relay, [projectId]);
    const task = await createTask(t.app, projectId, owner);
    await eventually(() => has(seen, task.id), 'woken by the commit signal');
  });

  it('when the hint is lost, then the poll delivers the event', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const relay = await startRelay({ pollIntervalMs: 200 });
    const seen = collect(relay, [projectId]);
    const id = await writeSilently(projectId);
    await eventually(() => has(seen, id), 'found by the poll');
  });

  it('when a transaction rolls back, then its events are never delivered', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const relay = await startRelay({ pollIntervalMs: HOUR });
    const seen = collect(relay, [projectId]);
    await expect(
      t.app.db.transaction(async (tx) => {
        await insertEvent(tx, {
          type: 'member.removed',
          projectId,
          actorId: owner.user.id,
          entityId: owner.user.id,
          data: { user_id: owner.user.id },
        });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const task = await createTask(t.app, projectId, owner, { title: 'committed' });
    await eventually(() => has(seen, task.id), 'the committed task relayed');
    await relay.flush();
    expect(seen.filter((d) => d.event.type === 'member.removed')).toEqual([]);
  });

  it('when unsubscribed or narrowed, then a subscriber hears only what it asked for', async () => {
    const owner = await createUser(t.app);
    const a = await createProject(t.app, owner);
    const b = await createProject(t.app, owner);
    const relay = await startRelay({ pollIntervalMs: HOUR });
    const seen: string[] = [];
    const all = collect(relay);
    const subscription = relay.subscribe([a], (d) => {
      if (d.event.type === 'task.created') seen.push(d.event.project_id ?? '');
    });
    const pair = async () => [await createTask(t.app, a, owner), await createTask(t.app, b, owner)];
    const first = await pair();
    await eventually(() => first.every((task) => has(all, task.id)), 'first pair relayed');
    subscription.setProjects([b]);
    const second = await pair();
    await eventually(() => second.every((task) => has(all, task.id)), 'second pair relayed');
    subscription.unsubscribe();
    const last = await createTask(t.app, b, owner);
    await eventually(() => has(all, last.id), 'last task relayed');
    expect(seen).toEqual([a, b]);
  });

  it('when stopped, then it delivers nothing more and a second stop is harmless', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const relay = await startRelay({ pollIntervalMs: 50 });
    const seen = collect(relay, [projectId]);
    await relay.stop();
    await writeSilently(projectId);
    await createTask(t.app, projectId, owner);
    await sleep(300);
    expect(seen).toEqual([]);
    await relay.stop();
  });

  it('when the app closes, then its relay stops before the database closes', async () => {
    const app = await createTestApp();
    const owner = await createUser(app.app);
    const projectId = await createProject(app.app, owner);
    const seen = collect(app.app.services.events, [projectId]);
    const task = await createTask(app.app, projectId, owner);
    await eventually(() => has(seen, task.id), 'relayed before close');
    await app.close();
    expect(app.app.services.events.position).not.toBeNull();
    // A stopped relay ignores wakes instead of reading a closed database.
    expect(() => app.app.services.events.wake()).not.toThrow();
    // A second app on PGlite migrates in WebAssembly: slow on a busy machine.
  }, 120_000);

  it('when events are relayed, then /metrics shows the relay lag and the cursor age', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const seen = collect(t.app.services.events, [projectId]);
    const task = await createTask(t.app, projectId, owner);
    await eventually(() => has(seen, task.id), 'relayed');
    const text = (await t.app.inject({ url: '/metrics' })).body;
    const count = /^docket_relay_lag_seconds_count (\d+)/m.exec(text)?.[1];
    expect(Number(count)).toBeGreaterThan(0);
    const age = /^docket_relay_cursor_age_seconds (\S+)/m.exec(text)?.[1];
    expect(Number(age)).toBeGreaterThanOrEqual(0);
    expect(Number(age)).toBeLessThan(60);
  });

  it.skipIf(!redisOk)(
    'when a hint arrives over Redis, then the relay reads without its poll',
    async () => {
      const owner = await createUser(t.app);
      const projectId = await createProject(t.app, owner);
      const channel = `${uniquePrefix()}events`;
      const [listening, sending] = await Promise.all([openRedis(REDIS_URL), openRedis(REDIS_URL)]);
      const sender = redisHints(sending!, channel);
      try {
        const relay = await startRelay({
          pollIntervalMs: HOUR,
          hints: redisHints(listening!, channel),
        });
        const seen = collect(relay, [projectId]);
        await eventually(() => listening!.status === 'ready', 'subscriber connected');
        // No commit signal and no poll: only the Redis message can wake it.
        const id = await writeSilently(projectId);
        await eventually(() => {
          void sender.send();
          return has(seen, id);
        }, 'woken over Redis');
      } finally {
        await sender.close();
        listening!.disconnect();
        sending!.disconnect();
      }
    },
  );
});

describe.skipIf(!pgOk)('the event relay on PostgreSQL', () => {
  it('when another instance commits, then its NOTIFY wakes this relay without a poll', async () => {
    const handle = await openDatabase({ url: t.databaseUrl, poolSize: 2 });
    handles.push(handle);
    const relay = new EventRelay({
      db: handle.db,
      hints: postgresHints(handle.notifications!, 'docket_events'),
      pollIntervalMs: HOUR,
      log: quiet,
    });
    relays.push(relay);
    await relay.start();
    const seen = collect(relay);
    const owner = await createUser(t.app);
    // Written through the app (its own pool and relay), which sends the hint after commit.
    const projectId = await createProject(t.app, owner);
    await eventually(
      () => seen.some((d) => d.event.project_id === projectId),
      'woken by the NOTIFY of another instance',
    );
  });

  it('when two transactions commit out of order, then both are delivered once the earlier one commits, neither skipped, none twice', async () => {
    const client = postgres(t.databaseUrl!, { max: 2, onnotice: () => undefined });
    const relay = await startRelay({ pollIntervalMs: 100 });
    const delivered = collect(relay);
    // Only this test's two events: a relay may also hand out earlier ones that settled late.
    let ours = new Set<string>();
    const seen = {
      get list() {
        return delivered.filter((d) => ours.has(d.event.id));
      },
    };
    try {
      const first = await client.reserve();
      const second = await client.reserve();
      const insert = (conn: postgres.ReservedSql, id: string) =>
        conn<{ seq: string }[]>`
          insert into events (id, type, project_id, actor_id, entity_id, data)
          values (${id}, 'member.removed', ${id}, null, ${id}, ${JSON.stringify({ user_id: id })}::jsonb)
          returning seq`;
      const [a, b] = [newId(), newId()];
      ours = new Set([a, b]);
      await first`begin`;
      const [aRow] = await insert(first, a);
      await second`begin`;
      const [bRow] = await insert(second, b);
      await second`commit`;
      // A reader of `seq > last` would now pass b, and a (the smaller seq) would be lost.
      expect(Number(aRow!.seq)).toBeLessThan(Number(bRow!.seq));
      await relay.flush();
      expect(seen.list.map((d) => d.event.id)).toEqual([]);

      await first`commit`;
      await eventually(() => seen.list.length >= 2, 'both delivered');
      await relay.flush();
      expect(seen.list.map((d) => d.event.id)).toEqual([a, b]);
      first.release();
      second.release();
    } finally {
      await client.end({ timeout: 1 });
    }
  });

  it('when many writers commit at once, then every event is delivered once, in increasing position', async () => {
    const owner = await createUser(t.app);
    const projectId = await createProject(t.app, owner);
    const relay = await startRelay({ pollIntervalMs: 100, batchSize: 7 });
    const relayed = collect(relay, [projectId]);
    const tasks = await Promise.all(
      Array.from({ length: 40 }, (_, i) => createTask(t.app, projectId, owner, { title: `${i}` })),
    );
    const tasksRelayed = () => relayed.filter((d) => d.event.type === 'task.created');
    await eventually(() => tasksRelayed().length >= tasks.length, 'all 40 relayed');
    await relay.flush();
    const seen = tasksRelayed();
    expect(new Set(seen.map((d) => d.event.entity_id))).toEqual(
      new Set(tasks.map((task) => task.id)),
    );
    expect(seen).toHaveLength(tasks.length);
    // Every event handed out, this test's or not, comes in increasing position.
    for (let i = 1; i < relayed.length; i++) {
      const [prev, next] = [relayed[i - 1]!.position, relayed[i]!.position];
      const ordered =
        BigInt(prev.txid) < BigInt(next.txid) || (prev.txid === next.txid && prev.seq < next.seq);
      expect(ordered, `${JSON.stringify(prev)} < ${JSON.stringify(next)}`).toBe(true);
    }
  });
});

describe('the relay in the composition root', () => {
  it('when a service commits a change, then services.events hands out its typed event', async () => {
    const built = await createTestServices();
    try {
      const { services } = built;
      const user = await services.auth.register({
        email: 'relay@example.com',
        password: 'correct horse battery staple',
      });
      const project = await services.projects.create(user.id, { name: 'Relayed' });
      const seen = collect(services.events, [project.id]);
      const task = await services.tasks.create(user.id, project.id, { title: 'from a service' });
      await eventually(() => has(seen, task.id), 'relayed from the service');
      expect(seen.find((d) => d.event.entity_id === task.id)?.event).toMatchObject({
        type: 'task.created',
        actor_id: user.id,
        data: { id: task.id, title: 'from a service', project_id: project.id },
      });
    } finally {
      await built.close();
    }
    // On PGlite the services' own database migrates in WebAssembly: slow on a busy machine.
  }, 120_000);
});
