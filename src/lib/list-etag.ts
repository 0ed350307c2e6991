import type { FastifyReply } from 'fastify';
import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { sendJsonText } from './json-text.js';

// Changed whenever a list's representation changes, so a tag from an older build never matches.
const REPRESENTATION = 'r1';

/**
 * A weak validator for one list answer: the change versions of the projects it covers, who
 * asks and the normalised query (filters, sort, cursor, limit). Any change in a covered project
 * moves its version (see the `project_versions` migration), so a tag that matches names an
 * answer that is still current.
 */
export function listEtag(kind: string, userId: string, query: unknown, versions: string): string {
  const digest = hash(
    'sha256',
    `${REPRESENTATION}\n${kind}\n${userId}\n${canonicalJson(query)}\n${versions}`,
    'base64url',
  ).slice(0, 27);
  return `W/"${digest}"`;
}

/** `If-None-Match` against a list's tag, by weak comparison (RFC 9110 §13.1.2). */
export function listNotModified(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === opaque;
  });
}

/**
 * Answers 304 with no body and no `Content-Length`: a serialised `null` would announce four bytes
 * a 304 never carries, and clients that read by length then wait for them.
 */
export function sendNotModified(reply: FastifyReply): FastifyReply {
  return reply.code(304).send();
}

/**
 * Sends a list answer with its tag: 304 when `page` is null (the tag still matched), a body
 * already serialised as JSON text as it is, or a page for the route's schema serialiser.
 */
export function sendList(
  reply: FastifyReply,
  answer: { etag: string; page: object | string | null },
): FastifyReply {
  reply.header('etag', answer.etag);
  if (answer.page === null) return sendNotModified(reply);
  if (typeof answer.page === 'string') return sendJsonText(reply, answer.page);
  return reply.send(answer.page);
}
