import Type from 'typebox';

/** Problem body (RFC 9457) as documented on every error response. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable error code, e.g. `task_not_found`.' }),
    request_id: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          location: Type.String(),
          field: Type.String(),
          message: Type.String(),
          code: Type.String(),
        }),
      ),
    ),
  },
  { description: 'An RFC 9457 problem.' },
);

export const authenticated: { security: Record<string, string[]>[] } = {
  security: [{ bearer: [] }, { oauth2: [] }],
};

export const IfMatchHeaderSchema = Type.Object({
  'if-match': Type.Optional(
    Type.String({ description: 'Apply only if the resource still has this ETag (else 412).' }),
  ),
});

export const IfNoneMatchHeaderSchema = Type.Object({
  'if-none-match': Type.Optional(
    Type.String({ description: 'Answer 304 if the resource still has this ETag.' }),
  ),
});

export const IdempotencyHeaderSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      maxLength: 255,
      description:
        'Retry-safe creation: the same key and body within 24 h replay the first answer; a different body is 422.',
    }),
  ),
});

/** Error responses every authenticated route may give. */
export const errorResponses = {
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  422: ProblemSchema,
  // `database_unavailable` (with Retry-After) when the database connection is lost, or
  // `service_unavailable` when the instance sheds load.
  503: ProblemSchema,
};
