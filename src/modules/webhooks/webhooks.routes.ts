import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { etagOf, expectedVersion, isNotModified } from '../../lib/etag.js';
import {
  authenticated,
  described,
  errorResponses,
  IdempotencyHeaderSchema,
  IfMatchHeaderSchema,
  IfNoneMatchHeaderSchema,
  ProblemSchema,
} from '../../lib/route-docs.js';
import { currentAuth } from '../../plugins/auth.js';
import { IdParamsSchema } from '../projects/projects.schemas.js';
import {
  DeliveryListQuerySchema,
  DeliveryPageSchema,
  DeliveryParamsSchema,
  DeliveryQueuedSchema,
  WebhookCreateSchema,
  WebhookListQuerySchema,
  WebhookPageSchema,
  WebhookParamsSchema,
  WebhookPublicSchema,
  WebhookUpdateSchema,
  WebhookWithSecretSchema,
} from './webhooks.schemas.js';
import { toWebhookPublic } from './webhooks.service.js';

const WHO = 'Project admins and owners; an editor or viewer gets 403, a non-member 404.';
const DELIVERY =
  'A delivery is a `POST` of `{id, type, timestamp, project_id, actor_id, data}` with the ' +
  'Standard Webhooks headers `webhook-id` (the event id, the same on every retry), ' +
  '`webhook-timestamp` and `webhook-signature`.';

export const webhooksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { webhooks } = app.services;
  const tags = ['webhooks'];
  const userOf = (request: Parameters<typeof currentAuth>[0]): string =>
    currentAuth(request).userId;

  app.get(
    '/projects/:id/webhooks',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listProjectWebhooks',
        tags,
        ...authenticated,
        summary: 'List a project’s webhooks',
        description: `The project’s webhook subscriptions in creation order, without secrets. ${WHO}`,
        params: IdParamsSchema,
        querystring: WebhookListQuerySchema,
        response: { 200: described(WebhookPageSchema, 'A page of webhooks.'), ...errorResponses },
      },
    },
    async (request) => webhooks.list(userOf(request), request.params.id, request.query),
  );

  app.post(
    '/projects/:id/webhooks',
    {
      onRequest: [app.authenticate],
      config: { idempotent: true },
      schema: {
        operationId: 'createProjectWebhook',
        tags,
        ...authenticated,
        summary: 'Subscribe a URL to the project’s events',
        description:
          `${DELIVERY} The answer carries the signing secret, shown only this once. A URL on a ` +
          `forbidden address or port is 422 \`webhook_url_forbidden\`. ${WHO}`,
        params: IdParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: WebhookCreateSchema,
        response: {
          201: described(WebhookWithSecretSchema, 'The new webhook with its secret.'),
          ...errorResponses,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await webhooks.create(
        userOf(request),
        request.params.id,
        request.body,
      );
      return reply
        .code(201)
        .header('etag', etagOf(webhook.version))
        .header('location', `/api/v1/webhooks/${webhook.id}`)
        .send({ ...toWebhookPublic(webhook), secret });
    },
  );

  app.get(
    '/webhooks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'getWebhook',
        tags,
        ...authenticated,
        summary: 'Get a webhook',
        description: `Without its secret. Sends a strong \`ETag\`. ${WHO}`,
        params: WebhookParamsSchema,
        headers: IfNoneMatchHeaderSchema,
        response: {
          200: described(WebhookPublicSchema, 'The webhook, with its `ETag`.'),
          304: described(Type.Null(), 'Not modified: `If-None-Match` names the current version.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const webhook = await webhooks.get(userOf(request), request.params.id);
      reply.header('etag', etagOf(webhook.version));
      if (isNotModified(request.headers['if-none-match'], webhook.version)) {
        return reply.code(304).send(null);
      }
      return toWebhookPublic(webhook);
    },
  );

  app.patch(
    '/webhooks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'updateWebhook',
        tags,
        ...authenticated,
        summary: 'Change a webhook',
        description:
          'Change its URL (checked like on creation), events, description, or turn it on and off; ' +
          `turning it on clears \`disabled_reason\`. Honours \`If-Match\`. ${WHO}`,
        params: WebhookParamsSchema,
        headers: IfMatchHeaderSchema,
        body: WebhookUpdateSchema,
        response: {
          200: described(WebhookPublicSchema, 'The changed webhook, with its new `ETag`.'),
          ...errorResponses,
          412: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const webhook = await webhooks.update(
        userOf(request),
        request.params.id,
        request.body,
        expectedVersion(request.headers['if-match']),
      );
      return reply.header('etag', etagOf(webhook.version)).send(toWebhookPublic(webhook));
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'deleteWebhook',
        tags,
        ...authenticated,
        summary: 'Delete a webhook',
        description: `Deletes it with its delivery log; queued attempts are dropped. Honours \`If-Match\`. ${WHO}`,
        params: WebhookParamsSchema,
        headers: IfMatchHeaderSchema,
        response: {
          204: described(Type.Null(), 'The webhook is deleted.'),
          ...errorResponses,
          412: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      await webhooks.delete(
        userOf(request),
        request.params.id,
        expectedVersion(request.headers['if-match']),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'rotateWebhookSecret',
        tags,
        ...authenticated,
        summary: 'Rotate a webhook’s secret',
        description:
          'Makes a new secret, shown only in this answer. For 24 hours deliveries carry two ' +
          `signatures, one per secret, so the receiver can switch without losing any. ${WHO}`,
        params: WebhookParamsSchema,
        response: {
          200: described(WebhookWithSecretSchema, 'The webhook with its new secret.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await webhooks.rotateSecret(userOf(request), request.params.id);
      return reply.header('etag', etagOf(webhook.version)).send({
        ...toWebhookPublic(webhook),
        secret,
      });
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        ...authenticated,
        summary: 'List a webhook’s delivery attempts',
        description:
          'Every attempt of the last 30 days, newest first: the event, the attempt number, the ' +
          'status code, duration, error and when the next retry is due. Failed attempts are ' +
          'retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (with jitter, or later ' +
          'if the receiver sends `Retry-After`); a 410 answer, or 5 days of failures, disables ' +
          `the webhook and mails the project’s admins. ${WHO}`,
        params: WebhookParamsSchema,
        querystring: DeliveryListQuerySchema,
        response: {
          200: described(DeliveryPageSchema, 'A page of attempts.'),
          ...errorResponses,
        },
      },
    },
    async (request) => webhooks.listDeliveries(userOf(request), request.params.id, request.query),
  );

  app.post(
    '/webhooks/:id/deliveries/:delivery_id/redeliver',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'redeliverWebhookDelivery',
        tags,
        ...authenticated,
        summary: 'Deliver an event again',
        description:
          'Queues one more attempt of the attempt’s event, with the same `webhook-id`; it is ' +
          'not retried on failure. 409 `webhook_disabled` on a disabled webhook, 409 ' +
          `\`event_expired\` once the event is no longer kept. ${WHO}`,
        params: DeliveryParamsSchema,
        response: {
          202: described(DeliveryQueuedSchema, 'The attempt is queued.'),
          ...errorResponses,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          await webhooks.redeliver(userOf(request), request.params.id, request.params.delivery_id),
        ),
  );

  app.post(
    '/webhooks/:id/ping',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'pingWebhook',
        tags,
        ...authenticated,
        summary: 'Send a test event',
        description:
          'Queues a `webhook.ping` event (`data: {webhook_id}`) for this webhook alone, one ' +
          `attempt, logged like any delivery. 409 \`webhook_disabled\` on a disabled webhook. ${WHO}`,
        params: WebhookParamsSchema,
        response: {
          202: described(DeliveryQueuedSchema, 'The ping is queued.'),
          ...errorResponses,
          409: ProblemSchema,
        },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await webhooks.ping(userOf(request), request.params.id)),
  );
};
