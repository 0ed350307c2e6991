import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { EARLIEST_TIME, LATEST_TIME } from './schema-types.js';

const base: Options = {
  allErrors: true,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
};

// ajv-formats' own check (the grammar, real dates and times), which this one narrows.
const rfc3339 = fullFormats['date-time'] as {
  validate: (value: string) => boolean;
  compare: (a: string, b: string) => number | undefined;
};

/**
 * RFC 3339, from year 1000 to 9999 in UTC. A leap second (`23:59:60`) is RFC 3339 but no Date
 * holds it; year 0 and an offset that carries a time past 9999 in UTC are refused by the
 * database; and a year below 100 is read back from it as 19xx or 20xx. Such values are refused
 * as invalid (422) instead of failing, or changing, once stored.
 */
export function isStorableDateTime(value: string): boolean {
  if (!rfc3339.validate(value)) return false;
  const time = Date.parse(value);
  return time >= EARLIEST_TIME && time <= LATEST_TIME;
}

function create(options: Options): Ajv {
  const ajv = new Ajv({ ...base, ...options });
  addFormats.default(ajv);
  ajv.addFormat('date-time', {
    type: 'string',
    validate: isStorableDateTime,
    compare: rfc3339.compare,
  });
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
