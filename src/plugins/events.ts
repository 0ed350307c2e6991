import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Gauge, Histogram } from 'prom-client';
import { EventRelay } from '../modules/activity/event-relay.js';
import { type HintChannel, postgresHints, redisHints } from '../modules/activity/relay-hints.js';

/** Redis pub/sub when Redis is configured, else `NOTIFY` on a server; PGlite needs neither. */
function hintChannel(app: FastifyInstance): HintChannel | null {
  if (app.redis) return redisHints(app.redis, `${app.config.redisKeyPrefix}events`);
  const { notifications } = app.database;
  return notifications ? postgresHints(notifications, 'docket_events') : null;
}

/** Runs this instance's event relay from start-up to shutdown and exposes it as `app.events`. */
export default fp(
  async function eventsPlugin(app: FastifyInstance) {
    const lag = new Histogram({
      name: 'docket_relay_lag_seconds',
      help: 'Seconds from an event being written to the relay handing it to subscribers',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [app.metrics],
    });
    const relay = new EventRelay({
      db: app.db,
      hints: hintChannel(app),
      log: app.log,
      onPublished: (_event, seconds) => lag.observe(seconds),
    });
    new Gauge({
      name: 'docket_relay_cursor_age_seconds',
      help: 'Seconds since the event relay last read up to the head of the committed log',
      registers: [app.metrics],
      collect() {
        this.set(relay.cursorAgeSeconds());
      },
    });
    await relay.start();
    app.decorate('events', relay);
    // Before the database closes (onClose hooks run last-registered first).
    app.addHook('onClose', async () => {
      await relay.stop();
    });
  },
  { name: 'events', dependencies: ['db', 'redis', 'metrics'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** Committed events, as they happen, for streams and webhooks: `subscribe(projects, fn)`. */
    events: EventRelay;
  }
}
