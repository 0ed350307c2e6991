import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  authenticated,
  described,
  errorResponses,
  IfNoneMatchHeaderSchema,
  ProblemSchema,
} from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import { CalendarFeedQuerySchema, CalendarTokenSchema } from './calendar.schemas.js';
import { FEED_LIMIT } from './calendar.service.js';

/** A strong validator of the feed's bytes: calendar apps poll, and most polls change nothing. */
function feedEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}

function matches(header: string | undefined, etag: string): boolean {
  return header?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*') === true;
}

export const calendarRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { calendar } = app.services;
  const tags = ['calendar'];

  app.post(
    '/projects/:id/calendar-token',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'createCalendarToken',
        tags,
        ...authenticated,
        summary: 'Make a calendar feed token',
        description:
          'Any member. A read-only token for this project’s iCalendar feed, for the caller; a new ' +
          'one replaces the old, which stops working at once. The token also stops working when ' +
          'the caller leaves the project. Each call makes a new token (`Idempotency-Key` does not ' +
          'replay it: the secret is never stored).',
        params: IdParamsSchema,
        response: {
          201: described(CalendarTokenSchema, 'The token and the feed address, shown this once.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const token = await calendar.createToken(currentAuth(request).userId, request.params.id);
      return reply.code(201).header('cache-control', 'no-store').send(token);
    },
  );

  app.get(
    '/projects/:id/calendar.ics',
    {
      schema: {
        operationId: 'getCalendarFeed',
        tags,
        summary: 'The project’s calendar feed',
        description:
          'An RFC 5545 iCalendar feed of the project’s open tasks (todo, in progress) that have ' +
          `a due date, soonest first, at most ${FEED_LIMIT}, for calendar apps; authenticated ` +
          'by `?token=` alone. Each task is one `VEVENT` whose `UID` is stable. A due date at ' +
          'local midnight in the task’s time zone is an all-day event (`VALUE=DATE`); a ' +
          'recurring task is one event with its `RRULE`, starting in its time zone ' +
          '(`DTSTART;TZID=…` with a `VTIMEZONE`). An unknown or replaced token, or one whose ' +
          'user left the project, is 404 `calendar_not_found`. Sends an `ETag`; ' +
          '`If-None-Match` with it answers 304 while the feed is unchanged.',
        params: IdParamsSchema,
        querystring: CalendarFeedQuerySchema,
        headers: IfNoneMatchHeaderSchema,
        produces: ['text/calendar'],
        response: {
          200: described(
            Type.String({ maxLength: 50 * 1024 * 1024 }),
            'The calendar (`text/calendar; charset=utf-8`), with its `ETag`.',
          ),
          304: described(Type.Null(), 'Not modified: `If-None-Match` names the current feed.'),
          404: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const body = await calendar.feed(request.params.id, request.query.token);
      const etag = feedEtag(body);
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send(null);
      return reply.type('text/calendar; charset=utf-8').send(body);
    },
  );
};
