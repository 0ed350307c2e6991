/**
 * `npm run bench:relay [-- --rate 200 --seconds 10]`: writes events at a steady rate with the
 * event relay running and prints the relay lag (a writer's commit returning → the relay handing
 * the event to a subscriber), p50/p99/max, plus events missing or delivered twice. On
 * PostgreSQL (a fresh database on BENCH_DATABASE_URL's server, default 127.0.0.1:5432) it
 * measures a relay in the writing instance (woken by its own commit) and one in another
 * instance (woken by NOTIFY); then on the embedded PGlite. Target: p99 < 100 ms on PostgreSQL.
 * Figures only: the exit code does not depend on them.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { newId } from '../src/lib/ids.js';
import { EventRelay } from '../src/modules/activity/event-relay.js';
import { insertEvent } from '../src/modules/activity/events.repository.js';
import { postgresHints } from '../src/modules/activity/relay-hints.js';

const { values: flags } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    'no-postgres': { type: 'boolean', default: false },
    'no-pglite': { type: 'boolean', default: false },
  },
});
const rate = Number(flags.rate);
const seconds = Number(flags.seconds);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const quiet = { warn: () => undefined, info: () => undefined };

interface Probe {
  name: string;
  relay: EventRelay;
  received: Map<string, number>;
  duplicates: number;
}

async function probeRelay(name: string, handle: DatabaseHandle, hinted: boolean): Promise<Probe> {
  const relay = new EventRelay({
    db: handle.db,
    hints:
      hinted && handle.notifications ? postgresHints(handle.notifications, 'docket_events') : null,
    log: quiet,
  });
  await relay.start();
  const probe: Probe = { name, relay, received: new Map(), duplicates: 0 };
  relay.subscribe('all', ({ event }) => {
    if (probe.received.has(event.entity_id)) probe.duplicates += 1;
    else probe.received.set(event.entity_id, performance.now());
  });
  return probe;
}

/** One event per transaction, started every 1/rate s without waiting for the previous one. */
async function writeSteadily(
  handle: DatabaseHandle,
  committed: Map<string, number>,
  durations: number[],
) {
  const projectId = newId();
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const id = newId();
    const began = performance.now();
    pending.push(
      handle.db
        .transaction(async (tx) => {
          await insertEvent(tx, {
            type: 'member.removed',
            projectId,
            actorId: null,
            entityId: id,
            data: { user_id: id },
          });
        })
        .then(() => {
          const now = performance.now();
          committed.set(id, now);
          durations.push(now - began);
        }),
    );
  }
  await Promise.all(pending);
  return (performance.now() - start) / 1000;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function report(label: string, probe: Probe, committed: Map<string, number>, writers: number) {
  const lags: number[] = [];
  let missing = 0;
  for (const [id, at] of committed) {
    const got = probe.received.get(id);
    if (got === undefined) missing += 1;
    // A commit's own signal may deliver before the writer's promise resolves: that is 0 lag.
    else lags.push(Math.max(0, got - at));
  }
  lags.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} ${String(committed.size).padStart(6)} commits ` +
      `p50 ${percentile(lags, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(lags, 99)
        .toFixed(1)
        .padStart(6)} ms  max ${(lags.at(-1) ?? Number.NaN).toFixed(1).padStart(6)} ms  ` +
      `missing ${missing}  twice ${probe.duplicates}  (${writers} writes/s achieved)`,
  );
}

async function run(label: string, writer: DatabaseHandle, other: DatabaseHandle | null) {
  const probes = [await probeRelay(`${label}, same instance`, writer, other !== null)];
  if (other) probes.push(await probeRelay(`${label}, other instance (NOTIFY)`, other, true));
  const committed = new Map<string, number>();
  const durations: number[] = [];
  const elapsed = await writeSteadily(writer, committed, durations);
  durations.sort((a, b) => a - b);
  // The relay can hand an event out only once every transaction begun before it has ended,
  // so the writers' own transaction times bound the lag from below.
  console.log(
    `${label}: write transactions (pool wait included) p50 ${percentile(durations, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(durations, 99).toFixed(1)} ms`,
  );
  // Everything committed; give the relays a moment past their 1 s poll to catch up.
  const deadline = performance.now() + 3_000;
  while (
    performance.now() < deadline &&
    probes.some((probe) => [...committed.keys()].some((id) => !probe.received.has(id)))
  ) {
    await sleep(50);
  }
  for (const probe of probes) {
    report(probe.name, probe, committed, Math.round(committed.size / elapsed));
    await probe.relay.stop();
  }
}

console.log(`relay lag at ${rate} commits/s for ${seconds} s (one event per commit)`);

if (!flags['no-postgres']) {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  const name = `docket_bench_relay_${process.pid}`;
  try {
    await admin.unsafe(`create database ${name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const writer = await openDatabase({ url: url.toString(), poolSize: 10 });
    const other = await openDatabase({ url: url.toString(), poolSize: 2 });
    try {
      await writer.migrate();
      await run('PostgreSQL', writer, other);
    } finally {
      await writer.close();
      await other.close();
    }
  } catch (error) {
    console.log(`PostgreSQL skipped: ${(error as Error).message}`);
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.end({ timeout: 1 });
  }
}

if (!flags['no-pglite']) {
  const pglite = await openDatabase({ url: null });
  try {
    await pglite.migrate();
    await run('PGlite', pglite, null);
  } finally {
    await pglite.close();
  }
}
