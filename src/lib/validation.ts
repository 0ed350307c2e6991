import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { AppError, type FieldError } from './errors.js';

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
  const byField = new Map<string, FastifySchemaValidationError[]>();
  for (const error of errors) {
    const field = fieldName(error);
    byField.set(field, [...(byField.get(field) ?? []), error]);
  }
  const result: FieldError[] = [];
  for (const [field, fieldErrors] of byField) {
    const union = fieldErrors.find(
      (error) => error.keyword === 'anyOf' || error.keyword === 'oneOf',
    );
    if (union !== undefined) {
      // A union reports every branch's failure; one summary per field says more.
      const branches = fieldErrors.filter((error) => error !== union);
      const allowed = branches.map(
        (error) => (error.params as { allowedValue?: unknown }).allowedValue,
      );
      const choices = branches.length > 0 && branches.every((error) => error.keyword === 'const');
      result.push({
        location,
        field,
        message: choices
          ? `must be one of: ${allowed.map(String).join(', ')}`
          : describeUnion(branches),
        code: choices ? 'invalid_choice' : 'invalid_value',
      });
      continue;
    }
    const seen = new Set<string>();
    for (const error of fieldErrors) {
      const code = KEYWORD_CODES[error.keyword] ?? 'invalid_value';
      if (seen.has(code)) continue;
      seen.add(code);
      result.push({ location, field, message: message(error), code });
    }
  }
  return result;
}

function describeUnion(branches: FastifySchemaValidationError[]): string {
  const reasons = [...new Set(branches.map((error) => message(error)))];
  return reasons.length > 0
    ? `matches no allowed form (${reasons.join('; or ')})`
    : 'matches no allowed form';
}

const NUL = '\u0000';
// With the u flag a valid surrogate pair is one code point, so only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;
const unstorable = (text: string): boolean => text.includes(NUL) || LONE_SURROGATE.test(text);

function findNul(value: unknown, path: string[], found: string[], depth: number): void {
  if (found.length >= 20 || depth > 64) return;
  if (typeof value === 'string') {
    if (unstorable(value)) found.push(path.join('.'));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, item] of Object.entries(value)) {
    if (unstorable(key)) found.push([...path, key.replaceAll(NUL, '\\0')].join('.'));
    else findNul(item, [...path, key], found, depth + 1);
  }
}

/** Where `value` holds text PostgreSQL cannot store (a NUL or a lone surrogate): at most 20 paths. */
export function unstorableTextPaths(value: unknown): string[] {
  const found: string[] = [];
  findNul(value, [], found, 0);
  return found;
}

/**
 * A `preValidation` hook: a U+0000 or a lone surrogate (`"\ud800"` in JSON) anywhere in the
 * path, query or body a route reads is a 422 naming the field. PostgreSQL text cannot store
 * either, so letting them through would fail in the database.
 */
export async function rejectNulCharacters(request: FastifyRequest): Promise<void> {
  const errors: FieldError[] = [];
  // Only the parts the route reads: an ignored query string cannot reach the database.
  const schema = request.routeOptions.schema ?? {};
  const parts: [FieldError['location'], unknown, unknown][] = [
    ['path', request.params, schema.params],
    ['query', request.query, schema.querystring],
    ['body', request.body, schema.body],
  ];
  for (const [location, value, declared] of parts) {
    if (declared === undefined) continue;
    for (const field of unstorableTextPaths(value)) {
      errors.push({
        location,
        field,
        message: 'must not contain the NUL character (U+0000) or a lone UTF-16 surrogate',
        code: 'invalid_character',
      });
    }
  }
  if (errors.length > 0) {
    throw new AppError('validation_failed', 'The request has invalid fields; see errors.', {
      errors,
    });
  }
}
