import Type, { type Static } from 'typebox';
import { PageQuerySchema, pageSchema } from '../../lib/pagination.js';
import { nullable, TimestampSchema, UuidSchema, VersionSchema } from '../../lib/schema-types.js';
import { EVENT_TYPES } from '../activity/events.schemas.js';

const PREFIXES = [...new Set(EVENT_TYPES.map((type) => `${type.split('.')[0]}.*`))];

/** What a subscription may name: an event type, a family (`task.*`) or every event (`*`). */
export const EVENT_FILTERS = ['*', ...PREFIXES, ...EVENT_TYPES] as const;

export const EventFilterSchema = Type.Union(
  EVENT_FILTERS.map((filter) => Type.Literal(filter)),
  { description: 'An event type, a family such as `task.*`, or `*` for every event.' },
);

const url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'An `http` or `https` URL on a public address and an allowed port (`WEBHOOK_ALLOWED_PORTS`), ' +
    'without credentials. Loopback, private, link-local, CGNAT, multicast and metadata addresses ' +
    'are refused (422 `webhook_url_forbidden`), as literals in any notation or as names that ' +
    'resolve to them, and again at every delivery.',
});
const events = Type.Array(EventFilterSchema, {
  minItems: 1,
  maxItems: 40,
  uniqueItems: true,
  description: 'The events to receive. `webhook.ping` is always sent.',
});
const description = Type.String({ maxLength: 500, description: 'Up to 500 characters.' });
const enabled = Type.Boolean({
  description: 'Off: nothing is delivered. Turning it on again clears `disabled_reason`.',
});

export const WebhookParamsSchema = Type.Object(
  { id: Type.String({ format: 'uuid', maxLength: 36, description: 'The webhook id (UUIDv7).' }) },
  { additionalProperties: false },
);

export const DeliveryParamsSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', maxLength: 36, description: 'The webhook id.' }),
    delivery_id: Type.String({ format: 'uuid', maxLength: 36, description: 'The attempt id.' }),
  },
  { additionalProperties: false },
);

export const WebhookCreateSchema = Type.Object(
  {
    url,
    events,
    description: Type.Optional(description),
    enabled: Type.Optional(enabled),
  },
  { additionalProperties: false },
);

export const WebhookUpdateSchema = Type.Object(
  {
    url: Type.Optional(url),
    events: Type.Optional(events),
    description: Type.Optional(description),
    enabled: Type.Optional(enabled),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const WebhookPublicSchema = Type.Object({
  id: UuidSchema,
  project_id: UuidSchema,
  url: Type.String({ maxLength: 2048 }),
  events: Type.Array(Type.String({ maxLength: 50 }), { maxItems: 40 }),
  description,
  enabled: Type.Boolean(),
  disabled_reason: nullable(Type.String({ maxLength: 20 }), {
    description:
      'Why Docket turned it off: `gone` (the receiver answered 410) or `failing` (5 days of ' +
      'failures); null otherwise.',
  }),
  failing_since: nullable(TimestampSchema, {
    description: 'The first failed attempt since the last success; null while deliveries succeed.',
  }),
  previous_secret_expires_at: nullable(TimestampSchema, {
    description: 'Until then, deliveries are also signed with the secret before the last rotation.',
  }),
  created_by: nullable(UuidSchema),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
  version: VersionSchema,
});

const secret = Type.String({
  maxLength: 60,
  description:
    'The signing secret, `whsec_` and base64: shown only in this answer. Verify deliveries with ' +
    'any Standard Webhooks library.',
});

export const WebhookWithSecretSchema = Type.Object({
  ...WebhookPublicSchema.properties,
  secret,
});

export const WebhookListQuerySchema = Type.Object(PageQuerySchema, {
  additionalProperties: false,
});
export const WebhookPageSchema = pageSchema(WebhookPublicSchema);

export const DeliveryPublicSchema = Type.Object({
  id: UuidSchema,
  webhook_id: UuidSchema,
  event_id: UuidSchema,
  event_type: Type.String({ maxLength: 50 }),
  attempt: Type.Integer({
    format: 'int32',
    minimum: 1,
    maximum: 1000,
    description: '1 for the first attempt, then counting up.',
  }),
  succeeded: Type.Boolean(),
  status_code: nullable(Type.Integer({ format: 'int32', minimum: 0, maximum: 999 }), {
    description: 'The receiver’s status; null when no answer came (timeout, refused address).',
  }),
  duration_ms: Type.Integer({ format: 'int32', minimum: 0, maximum: 2_147_483_647 }),
  error: nullable(Type.String({ maxLength: 500 })),
  next_retry_at: nullable(TimestampSchema, {
    description: 'When the next attempt is due; null when none will follow.',
  }),
  created_at: TimestampSchema,
});

export const DeliveryListQuerySchema = Type.Object(PageQuerySchema, {
  additionalProperties: false,
});
export const DeliveryPageSchema = pageSchema(DeliveryPublicSchema);

export const DeliveryQueuedSchema = Type.Object({
  webhook_id: UuidSchema,
  event_id: Type.String({
    format: 'uuid',
    maxLength: 36,
    description: 'The `webhook-id` the delivery will carry.',
  }),
});

export type WebhookCreate = Static<typeof WebhookCreateSchema>;
export type WebhookUpdate = Static<typeof WebhookUpdateSchema>;
export type WebhookPublic = Static<typeof WebhookPublicSchema>;
export type WebhookWithSecret = Static<typeof WebhookWithSecretSchema>;
export type DeliveryPublic = Static<typeof DeliveryPublicSchema>;
export type DeliveryQueued = Static<typeof DeliveryQueuedSchema>;
export type WebhookListQuery = Static<typeof WebhookListQuerySchema>;
export type DeliveryListQuery = Static<typeof DeliveryListQuerySchema>;
