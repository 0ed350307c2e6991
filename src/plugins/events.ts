import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { Gauge, Histogram } from 'prom-client';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/client.js';
import { EventRelay } from '../modules/activity/event-relay.js';
import { type HintChannel, postgresHints, redisHints } from '../modules/activity/relay-hints.js';

/** Redis pub/sub when Redis is configured, else `NOTIFY` on a server; PGlite needs neither. */
function hintChannel(
  config: Config,
  database: DatabaseHandle,
  redis: Redis | null,
): HintChannel | null {
  if (redis) return redisHints(redis, `${config.redisKeyPrefix}events`);
  const { notifications } = database;
  return notifications ? postgresHints(notifications, 'docket_events') : null;
}

/** This instance's event relay, built once for the composition root; the plugin runs it. */
export function createEventRelay(
  app: FastifyInstance,
  database: DatabaseHandle,
  redis: Redis | null,
): EventRelay {
  return new EventRelay({
    db: database.db,
    hints: hintChannel(app.config, database, redis),
    log: app.log,
  });
}

/**
 * Starts the relay of `app.services.events` (after the migrations), adds its figures to
 * `/metrics`, and stops it on close, before the database closes.
 */
export default fp(
  async function eventsPlugin(app: FastifyInstance) {
    const relay = app.services.events;
    const lag = new Histogram({
      name: 'docket_relay_lag_seconds',
      help: 'Seconds from an event being written to the relay handing it to subscribers',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [app.metrics],
    });
    relay.observePublished((_event, seconds) => lag.observe(seconds));
    new Gauge({
      name: 'docket_relay_cursor_age_seconds',
      help: 'Seconds since the event relay last read all it could deliver',
      registers: [app.metrics],
      collect() {
        this.set(relay.cursorAgeSeconds());
      },
    });
    await relay.start();
    // onClose hooks run last-registered first: this one before the database plugin's.
    app.addHook('onClose', async () => {
      await relay.stop();
    });
  },
  { name: 'events', dependencies: ['db', 'redis', 'metrics'] },
);
