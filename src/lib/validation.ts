import type { FastifySchemaValidationError } from 'fastify';
import type { FieldError } from './errors.js';

const LOCATIONS: Record<string, FieldError['location']> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

const KEYWORD_CODES: Record<string, string> = {
  required: 'missing',
  additionalProperties: 'unknown_field',
  type: 'invalid_type',
  format: 'invalid_format',
  pattern: 'invalid_format',
  enum: 'invalid_choice',
  const: 'invalid_choice',
  anyOf: 'invalid_value',
  oneOf: 'invalid_value',
  minLength: 'too_short',
  maxLength: 'too_long',
  minItems: 'too_few',
  maxItems: 'too_many',
  uniqueItems: 'duplicate_items',
  minimum: 'too_small',
  exclusiveMinimum: 'too_small',
  maximum: 'too_large',
  exclusiveMaximum: 'too_large',
  minProperties: 'too_few',
  maxProperties: 'too_many',
};

function fieldName(error: FastifySchemaValidationError): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params;
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    path.push(params.missingProperty);
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    path.push(params.additionalProperty);
  }
  return path.join('.');
}

function message(error: FastifySchemaValidationError): string {
  const params = error.params;
  if (error.keyword === 'additionalProperties') return 'is not a known field';
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return `must be one of: ${params.allowedValues.map(String).join(', ')}`;
  }
  return error.message ?? 'is invalid';
}

/** Turns schema-validation failures into the contract's `errors[]`, one entry per failing field. */
export function validationFieldErrors(
  errors: FastifySchemaValidationError[],
  context: string | undefined,
): FieldError[] {
  const location = LOCATIONS[context ?? 'body'] ?? 'body';
  const seen = new Set<string>();
  const result: FieldError[] = [];
  for (const error of errors) {
    // anyOf/oneOf repeat their branches' failures; keep the summary only once per field.
    const entry: FieldError = {
      location,
      field: fieldName(error),
      message: message(error),
      code: KEYWORD_CODES[error.keyword] ?? 'invalid_value',
    };
    const key = `${entry.field}\u0000${entry.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(entry);
  }
  return result;
}
