import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { AppError } from '../../lib/errors.js';
import { eventJson, type Feed } from './feed.js';
import type {
  EndReason,
  RealtimeHub,
  StreamConnection,
  StreamCredential,
  StreamSlot,
} from './hub.js';
import type { RealtimeService } from './realtime.service.js';
import { MAX_BUFFERED_BYTES } from './sse.js';

/** Close codes: 1012 restart, 1013 too slow, 4401 credential ended, 4403 user deactivated. */
const CLOSE: Record<EndReason, [number, string]> = {
  shutdown: [1012, 'server restarting'],
  slow_reader: [1013, 'too far behind; resume from the last event id'],
  overflow: [1013, 'too far behind; resume from the last event id'],
  no_pong: [1001, 'no pong'],
  credential_ended: [4401, 'session or token ended'],
  expired: [4401, 'token expired'],
  deactivated: [4403, 'user deactivated'],
};

/** How long a closed socket gets to answer the close frame before it is cut. */
const CLOSE_GRACE_MS = 1_000;
const MAX_PROJECTS = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type ClientMessage =
  | { op: 'subscribe'; project_ids?: string[]; last_event_id?: string | null }
  | { op: 'unsubscribe'; project_ids?: string[] }
  | { op: 'ping' };

/** Reads one client message; `null` for anything that is not one of the three ops, well formed. */
export function parseClientMessage(text: string): ClientMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const message = value as Record<string, unknown>;
  const ids = message.project_ids;
  if (
    ids !== undefined &&
    (!Array.isArray(ids) ||
      ids.length > MAX_PROJECTS ||
      ids.some((id) => typeof id !== 'string' || !UUID.test(id)))
  ) {
    return null;
  }
  const projectIds = ids as string[] | undefined;
  switch (message.op) {
    case 'ping':
      return { op: 'ping' };
    case 'unsubscribe':
      return { op: 'unsubscribe', ...(projectIds ? { project_ids: projectIds } : {}) };
    case 'subscribe': {
      const cursor = message.last_event_id;
      if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') return null;
      return {
        op: 'subscribe',
        ...(projectIds ? { project_ids: projectIds } : {}),
        last_event_id: cursor ?? null,
      };
    }
    default:
      return null;
  }
}

/**
 * Serves one WebSocket: `subscribe` opens (or replaces) its feed with a replay from
 * `last_event_id`, `unsubscribe` drops projects or the whole feed, `ping` is answered; the
 * server pings on each heartbeat and cuts a socket that missed a pong or fell 1 MiB behind.
 */
export function serveSocket(options: {
  socket: WebSocket;
  request: FastifyRequest;
  service: RealtimeService;
  credential: StreamCredential;
  slot: StreamSlot;
}): void {
  const { socket, request, service, credential } = options;
  const hub: RealtimeHub = service.hub;
  let feed: Feed | null = null;
  let generation = 0;
  let alive = true;
  let ended = false;

  const sendText = (text: string): void => {
    if (ended || socket.readyState !== socket.OPEN) return;
    socket.send(text);
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) connection.end('slow_reader');
  };
  const send = (message: object): void => sendText(JSON.stringify(message));
  const sendError = (error: unknown): void => {
    if (error instanceof AppError) send({ op: 'error', code: error.code, message: error.message });
    else {
      request.log.warn({ err: error }, 'websocket subscribe failed');
      send({ op: 'error', code: 'internal_error', message: 'The subscription failed.' });
    }
  };
  const dropFeed = (): void => {
    if (feed !== null) hub.closeFeed(feed);
    feed = null;
  };
  const finish = (): void => {
    if (ended) return;
    ended = true;
    generation += 1;
    dropFeed();
    hub.detach(connection);
  };
  const connection: StreamConnection = {
    transport: 'ws',
    credential,
    heartbeat: () => {
      if (!alive) {
        connection.end('no_pong');
        return;
      }
      alive = false;
      socket.ping();
    },
    end: (reason) => {
      if (ended) return;
      hub.countDrop(reason);
      finish();
      const [code, text] = CLOSE[reason];
      if (reason === 'no_pong') {
        socket.terminate();
        return;
      }
      socket.close(code, text);
      setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
    },
  };

  const subscribe = async (message: Extract<ClientMessage, { op: 'subscribe' }>) => {
    dropFeed();
    generation += 1;
    const mine = generation;
    const current = () => mine === generation;
    const after = service.resumePoint(undefined, message.last_event_id ?? undefined);
    const projects = await service.checkProjects(credential.userId, message.project_ids);
    if (!current()) return;
    const opened = await hub.openFeed(
      connection,
      { projects, after },
      {
        event: (event, cursor) => {
          if (!current()) return;
          // The event's text is shared by every stream that carries it (see `eventJson`).
          sendText(
            `{"op":"event","last_event_id":${JSON.stringify(cursor)},"event":${eventJson(event)}}`,
          );
          hub.countSent('ws');
        },
        reset: (cursor) => {
          if (current()) send({ op: 'reset', reason: 'history_expired', last_event_id: cursor });
        },
        live: (projectIds) => {
          if (current()) send({ op: 'subscribed', project_ids: projectIds });
        },
      },
    );
    if (current()) feed = opened;
    else hub.closeFeed(opened);
  };

  hub.attach(connection, options.slot);
  socket.on('pong', () => {
    alive = true;
  });
  socket.on('close', finish);
  socket.on('message', (data, isBinary) => {
    alive = true;
    const message =
      isBinary || !Buffer.isBuffer(data) ? null : parseClientMessage(data.toString('utf8'));
    if (message === null) {
      send({
        op: 'error',
        code: 'validation_failed',
        message: 'Send {"op":"subscribe"|"unsubscribe"|"ping", …} as JSON text.',
      });
      return;
    }
    if (message.op === 'ping') send({ op: 'pong' });
    else if (message.op === 'subscribe') subscribe(message).catch(sendError);
    else {
      if (message.project_ids === undefined) {
        generation += 1;
        dropFeed();
      } else {
        feed?.drop(message.project_ids);
      }
      send({ op: 'subscribed', project_ids: [...(feed?.projects ?? [])] });
    }
  });
}
