import type { FastifyReply } from 'fastify';

/**
 * Sends JSON that is already text (a task's stored JSON, a page joined from it) as it is: the
 * route's serialiser would write the same bytes (test/tasks/list-fast-path.test.ts holds them).
 */
export function sendJsonText(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(text);
}
