import Type, { type Static } from 'typebox';

export const HealthCheckSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  database: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])),
  redis: Type.Optional(
    Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('not_configured')], {
      description:
        '`degraded`: Redis cannot be used, and this instance serves on per-instance state ' +
        '(rate limits count in its own memory) until Redis returns.',
    }),
  ),
  draining: Type.Optional(Type.Boolean()),
});

export type HealthCheck = Static<typeof HealthCheckSchema>;
