import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EventPosition } from '../activity/events.repository.js';
import { eventJson, type Feed, type FeedProjects } from './feed.js';
import type {
  EndReason,
  RealtimeHub,
  StreamConnection,
  StreamCredential,
  StreamSlot,
} from './hub.js';

/** A client whose unread output passes this is too slow: its stream ends and it resumes. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  // `no-transform` keeps proxies from compressing; `X-Accel-Buffering` keeps nginx from buffering.
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

/**
 * Serves one Server-Sent Events stream on a hijacked reply (so neither compression nor the
 * serialiser touches it): replay, then live events, a `: ping` comment on each heartbeat, and
 * on shutdown a `retry:` hint before the end.
 */
export async function serveEventStream(options: {
  request: FastifyRequest;
  reply: FastifyReply;
  hub: RealtimeHub;
  credential: StreamCredential;
  slot: StreamSlot;
  projects: FeedProjects;
  after: EventPosition | null;
}): Promise<void> {
  const { request, reply, hub, credential } = options;
  const res = reply.raw;
  let feed: Feed | null = null;
  let ended = false;

  const write = (chunk: string): void => {
    if (ended) return;
    res.write(chunk);
    if (res.writableLength > MAX_BUFFERED_BYTES) connection.end('slow_reader');
  };
  const finish = (): void => {
    if (ended) return;
    ended = true;
    if (feed !== null) hub.closeFeed(feed);
    hub.detach(connection);
  };
  const connection: StreamConnection = {
    transport: 'sse',
    credential,
    heartbeat: () => write(': ping\n\n'),
    end: (reason: EndReason) => {
      if (ended) return;
      hub.countDrop(reason);
      if (reason === 'slow_reader' || reason === 'overflow') {
        finish();
        res.destroy();
        return;
      }
      // After a shutdown the client should come back (elsewhere) soon, spread over a few seconds.
      if (reason === 'shutdown') write(`retry: ${1000 + Math.floor(Math.random() * 4000)}\n\n`);
      finish();
      res.end();
      res.socket?.end();
    },
  };

  reply.hijack();
  hub.attach(connection, options.slot);
  res.once('close', finish);
  res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...SSE_HEADERS });
  res.flushHeaders();
  request.raw.socket.setNoDelay(true);
  try {
    feed = await hub.openFeed(
      connection,
      { projects: options.projects, after: options.after },
      {
        event: (event, cursor) => {
          write(`id: ${cursor}\nevent: ${event.type}\ndata: ${eventJson(event)}\n\n`);
          hub.countSent('sse');
        },
        reset: (cursor) => {
          write(
            `id: ${cursor}\nevent: reset\ndata: ${JSON.stringify({ reason: 'history_expired', last_event_id: cursor })}\n\n`,
          );
        },
        live: () => write(': live\n\n'),
      },
    );
    if (ended) hub.closeFeed(feed);
  } catch (error) {
    request.log.warn({ err: error }, 'event stream could not start');
    finish();
    res.destroy();
  }
}
