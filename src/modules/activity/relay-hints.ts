import type { Redis } from 'ioredis';
import type { Notifications } from '../../db/client.js';

/**
 * "New events committed; read the log." A hint carries no event (NOTIFY payloads are capped and
 * a payload per commit would serialise commits), so a lost or duplicated hint costs nothing but
 * a read: the relay polls anyway.
 */
export interface HintChannel {
  /** Tells every instance, this one included. */
  send(): Promise<void>;
  /** Calls `onHint` for every hint from any instance until `close`. */
  listen(onHint: () => void): Promise<void>;
  close(): Promise<void>;
}

/** PostgreSQL `NOTIFY`, sent after the commit in a statement of its own. */
export function postgresHints(notifications: Notifications, channel: string): HintChannel {
  let stop: (() => Promise<void>) | undefined;
  return {
    send: () => notifications.notify(channel),
    async listen(onHint) {
      stop = await notifications.listen(channel, onHint);
    },
    async close() {
      await stop?.();
    },
  };
}

/**
 * Redis pub/sub, for deployments that run Redis anyway. The subscriber is a connection of its
 * own; while Redis is away hints are lost and the relay's poll carries delivery alone.
 */
export function redisHints(redis: Redis, channel: string): HintChannel {
  const subscriber = redis.duplicate();
  subscriber.on('error', () => undefined);
  return {
    async send() {
      await redis.publish(channel, '');
    },
    async listen(onHint) {
      subscriber.on('message', (from: string) => {
        if (from === channel) onHint();
      });
      // Subscribes again after every reconnect; the first attempt may find Redis away.
      subscriber.on('ready', () => void subscriber.subscribe(channel).catch(() => undefined));
      await subscriber.connect().catch(() => undefined);
    },
    async close() {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
