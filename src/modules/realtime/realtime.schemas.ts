import Type from 'typebox';
import { UuidSchema } from '../../lib/schema-types.js';

const CURSOR_MAX = 64;
const TICKET_MAX = 100;

export const TicketSchema = Type.Object({
  ticket: Type.String({
    maxLength: TICKET_MAX,
    description: 'Pass it as `?ticket=` to `/events/stream` or `/ws`, once, within 30 s.',
  }),
  expires_in: Type.Integer({ format: 'int32', minimum: 1, maximum: 3600, description: 'Seconds.' }),
});

const ticketQuery = Type.String({
  maxLength: TICKET_MAX,
  description:
    'A ticket from `POST /realtime/tickets`, for clients that cannot send `Authorization` ' +
    '(browsers’ EventSource and WebSocket). Single use; ignored when `Authorization` is sent.',
});

const lastEventId = Type.String({
  maxLength: CURSOR_MAX,
  description: 'The `id:` of the last event seen: the stream resumes right after it.',
});

export const StreamQuerySchema = Type.Object(
  {
    project_id: Type.Optional(
      Type.Array(UuidSchema, {
        maxItems: 100,
        description: 'Repeatable; default: every project of the caller, and those joined later.',
      }),
    ),
    last_event_id: Type.Optional(lastEventId),
    ticket: Type.Optional(ticketQuery),
  },
  { additionalProperties: false },
);

export const StreamHeadersSchema = Type.Object({
  'last-event-id': Type.Optional(lastEventId),
});

export const SocketQuerySchema = Type.Object(
  { ticket: Type.Optional(ticketQuery) },
  { additionalProperties: false },
);

export const EventStreamSchema = Type.String({
  maxLength: 10_000_000,
  description:
    'Server-Sent Events. Each event: `id:` (opaque cursor), `event:` (the event type), `data:` ' +
    '(the `Event` JSON). `event: reset` (data `{reason, last_event_id}`) when the resume point ' +
    'is older than the kept history: refetch, then read on. `: live` once the replay is done, ' +
    '`: ping` every 15 s, and `retry:` before the server closes for a restart.',
});
