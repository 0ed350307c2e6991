import Type, { type Static } from 'typebox';

export const HealthCheckSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  database: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])),
  redis: Type.Optional(
    Type.Union([Type.Literal('ok'), Type.Literal('unavailable'), Type.Literal('not_configured')]),
  ),
  draining: Type.Optional(Type.Boolean()),
});

export type HealthCheck = Static<typeof HealthCheckSchema>;
