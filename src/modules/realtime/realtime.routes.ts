import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../../lib/errors.js';
import { authenticated, described, errorResponses, ProblemSchema } from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import type { StreamCredential, StreamSlot } from './hub.js';
import {
  EventStreamSchema,
  SocketQuerySchema,
  StreamHeadersSchema,
  StreamQuerySchema,
  TicketSchema,
} from './realtime.schemas.js';
import { SharedStreamCounts } from './shared-counts.js';
import { serveSocket } from './socket.js';
import { serveEventStream } from './sse.js';

const MAX_PAYLOAD = 64 * 1024;
const BEARER = /^Bearer +(\S+)$/i;

export const realtimeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { realtime } = app.services;
  const { hub } = realtime;

  await app.register(websocket, {
    options: { maxPayload: MAX_PAYLOAD },
    // Before the listener waits for its connections, every stream (SSE too) is told to
    // reconnect: sockets get 1012 and a moment to close, instead of a bare close.
    preClose: (done) => {
      hub.shutdown();
      app.websocketServer.close(() => undefined);
      done();
    },
  });
  app.decorateRequest('streamCredential', null);
  app.decorateRequest('streamSlot', null);
  if (app.redisState) {
    // An entry outlives three missed heartbeats, then lapses (an instance that died).
    const ttlMs = 3 * app.config.realtimePingIntervalMs;
    hub.shareCounts(new SharedStreamCounts(app.redisState, app.config.redisKeyPrefix, ttlMs));
  }
  hub.exposeMetrics(app.metrics);
  hub.start();
  // A place taken for a stream that then did not open (404, 400, …) is given back.
  app.addHook('onResponse', async (request) => {
    const slot = request.streamSlot;
    if (slot !== null && !slot.attached) hub.release(slot);
  });

  /** Bearer token or `?ticket=`; answered before any upgrade, and counted against the limits. */
  async function authenticateStream(request: FastifyRequest): Promise<void> {
    const { ticket } = request.query as { ticket?: unknown };
    let credential: StreamCredential | null;
    if (ticket !== undefined && request.headers.authorization === undefined) {
      credential = typeof ticket === 'string' ? await realtime.redeemTicket(ticket) : null;
      if (credential === null) {
        throw new AppError('invalid_token', 'The ticket is unknown, used or expired.', {
          headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
        });
      }
    } else {
      await app.authenticate(request);
      const bearer = BEARER.exec(request.headers.authorization?.trim() ?? '')?.[1] ?? null;
      credential = realtime.credentialOf(currentAuth(request), bearer);
    }
    request.streamSlot = await hub.admit(credential.userId);
    request.streamCredential = credential;
  }

  function stream(request: FastifyRequest): { credential: StreamCredential; slot: StreamSlot } {
    if (request.streamCredential === null || request.streamSlot === null) {
      throw new AppError('unauthenticated');
    }
    return { credential: request.streamCredential, slot: request.streamSlot };
  }

  app.post(
    '/realtime/tickets',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'createRealtimeTicket',
        tags: ['realtime'],
        ...authenticated,
        summary: 'Ticket for a browser stream',
        description:
          'A single-use ticket, valid 30 s, that opens one `/events/stream` or `/ws` as the ' +
          'caller: browsers’ EventSource and WebSocket cannot send `Authorization`. The stream it ' +
          'opens ends when the session or token it was made with ends.',
        response: {
          201: described(TicketSchema, 'The ticket; it is stored hashed and works once.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const auth = currentAuth(request);
      const bearer = BEARER.exec(request.headers.authorization?.trim() ?? '')?.[1] ?? null;
      const ticket = await realtime.createTicket(realtime.credentialOf(auth, bearer));
      return reply.code(201).send(ticket);
    },
  );

  app.get(
    '/events/stream',
    {
      // A HEAD would open a stream that can carry no body.
      exposeHeadRoute: false,
      onRequest: [authenticateStream],
      schema: {
        operationId: 'streamEvents',
        tags: ['realtime'],
        ...authenticated,
        summary: 'Live events (Server-Sent Events)',
        description:
          'The events of the caller’s projects (or of the `project_id`s given, 404 for any other) ' +
          'as they commit, as `text/event-stream`. With `Last-Event-ID` (or `?last_event_id=`) the ' +
          'events after that one are replayed first, then live ones follow, none missed and none ' +
          'twice. A member removed from a project gets that `member.removed` event and nothing ' +
          'more of the project; a revoked session, a deactivated user or an expired token ends ' +
          'the stream. Never compressed or buffered. At most ' +
          '`REALTIME_MAX_CONNECTIONS_PER_USER` (default 20) open streams per user: 429 ' +
          '`too_many_streams` beyond.',
        querystring: StreamQuerySchema,
        headers: StreamHeadersSchema,
        produces: ['text/event-stream'],
        response: {
          200: described(EventStreamSchema, 'The stream; it stays open.'),
          400: described(
            ProblemSchema,
            'The event id is not one this API issued (`invalid_cursor`).',
          ),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { credential, slot } = stream(request);
      const after = realtime.resumePoint(
        request.headers['last-event-id'],
        request.query.last_event_id,
      );
      const projects = await realtime.checkProjects(credential.userId, request.query.project_id);
      await serveEventStream({ request, reply, hub, credential, slot, projects, after });
    },
  );

  app.route({
    method: 'GET',
    url: '/ws',
    onRequest: [authenticateStream],
    schema: {
      operationId: 'openEventSocket',
      tags: ['realtime'],
      ...authenticated,
      summary: 'Live events (WebSocket)',
      description:
        'A WebSocket carrying the same events as `/events/stream`. A missing or bad credential ' +
        'is answered 401/403 before the upgrade. Client → `{"op":"subscribe","project_ids":[…],' +
        '"last_event_id":…}` (replaces the subscription; replay then live), ' +
        '`{"op":"unsubscribe","project_ids":[…]}` (none: all), `{"op":"ping"}`. Server → ' +
        '`{"op":"event","last_event_id":…,"event":{…}}`, `{"op":"subscribed","project_ids":[…]}` ' +
        '(after the replay), `{"op":"reset",…}`, `{"op":"error","code":…}`, `{"op":"pong"}`. ' +
        'Messages up to 64 KiB. Close codes: 1012 server restart (reconnect), 1013 too far ' +
        'behind (over 1 MiB unread; resume from the last id), 4401 session or token ended, 4403 ' +
        'user deactivated.',
      querystring: SocketQuerySchema,
      response: {
        101: described(Type.Null(), 'Switching protocols: the WebSocket is open.'),
        426: described(ProblemSchema, 'Not a WebSocket upgrade request (`upgrade_required`).'),
        ...errorResponses,
      },
    },
    handler: async () => {
      throw new AppError('upgrade_required', 'This endpoint speaks WebSocket only.');
    },
    wsHandler: (socket, request) => {
      serveSocket({ socket, request, service: realtime, ...stream(request) });
    },
  });
};

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the stream routes' authentication: who the stream acts for. */
    streamCredential: StreamCredential | null;
    /** The place under the per-user limit the stream was admitted to. */
    streamSlot: StreamSlot | null;
  }
}
