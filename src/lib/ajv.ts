import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';

const base: Options = {
  allErrors: true,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
};

function create(options: Options): Ajv {
  const ajv = new Ajv({ ...base, ...options });
  addFormats.default(ajv);
  return ajv;
}

/**
 * Bodies are validated as sent: a JSON string is never turned into a number.
 * Query strings, paths and headers are text, so they are coerced to the schema's types,
 * and a repeated query parameter becomes an array.
 */
export function createValidators(): { body: Ajv; text: Ajv } {
  return { body: create({ coerceTypes: false }), text: create({ coerceTypes: 'array' }) };
}
