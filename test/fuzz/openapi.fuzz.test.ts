/*
 * Schema-driven fuzzing: every operation of the app's own OpenAPI document gets valid requests
 * and mutated ones (wrong types, missing and extra fields, null, huge numbers, long, emoji and
 * NUL strings, prototype keys, deep nesting, every content type, bad preconditions and keys,
 * bad and foreign ids, with and without a token). Whatever comes in, the answer is never a 5xx
 * or a dropped connection, its status is one the document lists for the operation, and its
 * JSON body matches the documented schema.
 *
 * FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<n> sets the requests per operation.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  security?: unknown[];
  parameters?: { in: string; name: string; required?: boolean; schema: Json }[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}
interface Case {
  method: string;
  path: string;
  operation: Operation;
}
interface Fixture {
  owner: TestUser;
  stranger: TestUser;
  ids: Record<string, string>;
  foreignIds: Record<string, string>;
  etag: string;
}

// The document is read once, before the tests are collected: a throwaway app serves it.
const setup = await createTestApp();
const document = (await setup.app.inject({ url: '/openapi.json' })).json<{
  paths: Record<string, Record<string, Operation>>;
  components?: Json;
}>();
await setup.close();

// An event stream answers a valid request with a response that never ends, which `inject`
// would wait for forever; test/realtime/sse.test.ts covers its refusals over real HTTP.
const isStream = (operation: Operation) =>
  operation.responses['200']?.content?.['text/event-stream'] !== undefined;

const cases: Case[] = Object.entries(document.paths).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method] !== undefined && !isStream(item[method])).map(
    (method) => ({
      method,
      path,
      operation: item[method] as Operation,
    }),
  ),
);

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats.default(ajv);
const validators = new Map<Json, ValidateFunction>();
function validatorFor(schema: Json): ValidateFunction {
  let validate = validators.get(schema);
  if (validate === undefined) {
    // Shared shapes are `$ref`s into the document's components; carry them along to resolve.
    validate = ajv.compile({ ...(schema as object), components: document.components ?? {} });
    validators.set(schema, validate);
  }
  return validate;
}

// ---------------------------------------------------------------- values from schemas

const EMOJI = '😀👩‍👩‍👧‍👦🏳️‍🌈';
const nasty = fc.constantFrom(
  '',
  'x'.repeat(5000),
  EMOJI.repeat(300),
  'a\u0000b',
  '\u0000',
  '../../etc/passwd',
  "'; drop table users; --",
  '<script>alert(1)</script>',
  '%00',
  '\ud800',
  ' ',
  '0',
  '-1',
  'null',
  'true',
  '1e309',
);
const hugeNumber = fc.constantFrom(
  1e308,
  -1e308,
  2 ** 53 + 1,
  -(2 ** 31) - 1,
  2 ** 31,
  0.5,
  -0,
  Number.MAX_SAFE_INTEGER,
);
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  nasty,
  hugeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string(), { maxLength: 3 }),
);

function valueFor(schema: Json | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 4) return anyJson;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const union = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (union !== undefined) return fc.oneof(...union.map((branch) => valueFor(branch, depth + 1)));
  const types = ([] as unknown[]).concat(schema.type ?? []);
  const options = types.map((type) => valueOfType(type as string, schema, depth));
  return options.length === 0 ? anyJson : fc.oneof(...options);
}

function valueOfType(type: string, schema: Json, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({
        min: (schema.minimum as number | undefined) ?? -1000,
        max: (schema.maximum as number | undefined) ?? 1000,
      });
    case 'number':
      return fc.double({ min: -1e6, max: 1e6, noNaN: true });
    case 'string':
      return stringFor(schema);
    case 'array':
      return fc.array(valueFor(schema.items as Json | undefined, depth + 1), {
        minLength: (schema.minItems as number | undefined) ?? 0,
        maxLength: Math.min((schema.maxItems as number | undefined) ?? 3, 3),
      });
    case 'object':
      return objectFor(schema, depth);
    default:
      return anyJson;
  }
}

function stringFor(schema: Json): fc.Arbitrary<string> {
  const max = Math.min((schema.maxLength as number | undefined) ?? 50, 60);
  const min = Math.min((schema.minLength as number | undefined) ?? 0, max);
  switch (schema.format) {
    case 'uuid':
      return fc.uuid({ version: 7 });
    case 'date-time':
      return fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((date) => date.toISOString());
    case 'email':
      return fc.emailAddress().filter((email) => email.length <= 254);
  }
  if (typeof schema.pattern === 'string') {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((value) => value.length <= max);
  }
  return fc.string({ minLength: min, maxLength: max, unit: 'grapheme' });
}

function objectFor(schema: Json, depth: number): fc.Arbitrary<Json> {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = (schema.required ?? []) as string[];
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) {
    record[name] = valueFor(property, depth + 1);
  }
  const optional = Object.keys(properties).filter((name) => !required.includes(name));
  return fc
    .record(record, { requiredKeys: required.filter((name) => name in record) })
    .map((value) => {
      // A partial update needs at least one field.
      if (Object.keys(value).length === 0 && optional[0] !== undefined && depth === 0) {
        return { [optional[0]]: null };
      }
      return value;
    });
}

// ---------------------------------------------------------------- mutations

function deepNesting(levels: number): unknown {
  let value: unknown = 'deep';
  for (let level = 0; level < levels; level++) value = level % 2 === 0 ? { a: value } : [value];
  return value;
}

/** A JSON text: `__proto__` cannot be an own key of an object literal, so it is written raw. */
function mutate(valid: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> {
  const asText = (value: unknown): string => JSON.stringify(value) ?? 'null';
  const objectMutation = (change: (value: Json, key: string) => unknown) =>
    fc.tuple(valid, fc.nat()).map(([value, pick]) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return asText(value);
      const keys = Object.keys(value);
      const key = keys.length === 0 ? 'field' : (keys[pick % keys.length] as string);
      return asText(change({ ...(value as Json) }, key));
    });
  return fc.oneof(
    { weight: 4, arbitrary: valid.map(asText) },
    objectMutation((value, key) => ({ ...value, [key]: null })),
    fc
      .tuple(fc.constant(0), anyJson)
      .chain(([, junk]) => objectMutation((value, key) => ({ ...value, [key]: junk }))),
    objectMutation((value, key) => {
      delete value[key];
      return value;
    }),
    objectMutation((value) => ({ ...value, unexpected_field: 1 })),
    objectMutation((value, key) => ({ ...value, [key]: deepNesting(64) })),
    valid.map((value) => {
      const text = asText(value);
      return text.startsWith('{') && text !== '{}'
        ? `{"__proto__":{"polluted":true},${text.slice(1)}`
        : '{"__proto__":{"polluted":true}}';
    }),
    fc.constant('{"constructor":{"prototype":{"polluted":true}}}'),
    anyJson.map(asText),
    // Built as text: serialising this depth would overflow the test's own stack.
    fc.constant(`${'{"a":['.repeat(2500)}"deep"${']}'.repeat(2500)}`),
    fc.constantFrom('', '{"a":', '[', 'nul', '{"a":1}}', '\u0000', '"\\ud800"'),
    fc.constant(undefined),
  );
}

const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'application/json; charset=utf-8',
    'application/x-www-form-urlencoded',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/octet-stream',
    'application/problem+json',
    'application/json; charset=latin1',
    'garbage',
  ),
);

// ---------------------------------------------------------------- requests

type IdKind = 'valid' | 'foreign' | 'random' | 'bad' | 'raw';

/** Path segments sent as they are: broken percent-encoding, NUL, over-long, traversal. */
const RAW_SEGMENTS = [
  '%E0%A4%A',
  '%',
  '%00',
  'a'.repeat(5000),
  '%F0%9F%98%80',
  '..%2F..%2Fetc',
  '1',
  '-1',
  '0x10',
];

/** A lone surrogate cannot be percent-encoded as UTF-8; it goes out as the bytes it would be. */
function encodeSegment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

function idFor(fixture: Fixture, name: string, path: string, kind: IdKind, bad: string): string {
  const key = `${path}:${name}`;
  switch (kind) {
    case 'valid':
      return fixture.ids[key] ?? fixture.ids[name] ?? crypto.randomUUID();
    case 'foreign':
      return fixture.foreignIds[key] ?? fixture.foreignIds[name] ?? crypto.randomUUID();
    case 'random':
      return crypto.randomUUID();
    case 'bad':
      // An empty segment would name another operation (`/tasks/` is the list), so it is a space.
      return encodeSegment(bad) || '%20';
    case 'raw':
      return RAW_SEGMENTS[bad.length % RAW_SEGMENTS.length] ?? '%';
  }
}

/** JSON text of a value, or a marker when it is too deep to serialise here. */
function textOf(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return 'too-deep';
  }
}

function queryFrom(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '';
  const params = new URLSearchParams();
  for (const [key, item] of Object.entries(value)) {
    for (const one of Array.isArray(item) ? item : [item]) {
      params.append(key, typeof one === 'string' ? one : textOf(one));
    }
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function formFrom(text: string | undefined): string {
  if (text === undefined) return '';
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return text;
    return queryFrom(parsed).slice(1);
  } catch {
    return text;
  }
}

function requestArbitrary(testCase: Case, fixture: () => Fixture) {
  const { operation } = testCase;
  const query = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query');
  const querySchema: Json = {
    type: 'object',
    properties: Object.fromEntries(query.map((parameter) => [parameter.name, parameter.schema])),
    required: query.filter((parameter) => parameter.required).map((parameter) => parameter.name),
  };
  const media = operation.requestBody?.content ?? {};
  const bodySchema = (media['application/json'] ?? Object.values(media)[0])?.schema;
  return fc
    .record({
      idKind: fc.constantFrom<IdKind>('valid', 'valid', 'valid', 'foreign', 'random', 'bad', 'raw'),
      badId: nasty,
      query: fc.oneof(
        { weight: 3, arbitrary: valueFor(querySchema) },
        mutate(valueFor(querySchema)).map((text) => {
          try {
            return JSON.parse(text ?? 'null') as unknown;
          } catch {
            return { q: text };
          }
        }),
      ),
      body: mutate(valueFor(bodySchema)),
      contentType: contentTypes,
      auth: fc.constantFrom('owner', 'owner', 'owner', 'stranger', 'none', 'garbage', 'basic'),
      ifMatch: fc.option(
        fc.constantFrom('valid', '"1"', '"999999"', '*', 'W/"1"', 'junk', 'x'.repeat(300)),
        {
          nil: undefined,
        },
      ),
      idempotencyKey: fc.option(
        fc.oneof(fc.uuid(), fc.constantFrom('', ' ', 'x'.repeat(300), 'kéy', 'a b')),
        { nil: undefined },
      ),
    })
    .map((choice) => {
      const current = fixture();
      const path = testCase.path.replace(/\{(\w+)\}/g, (_match, name: string) =>
        idFor(current, name, testCase.path, choice.idKind, choice.badId),
      );
      const headers: Record<string, string> = {};
      if (choice.auth === 'owner') headers.authorization = `Bearer ${current.owner.token}`;
      if (choice.auth === 'stranger') headers.authorization = `Bearer ${current.stranger.token}`;
      if (choice.auth === 'garbage') headers.authorization = 'Bearer not.a.token';
      if (choice.auth === 'basic') headers.authorization = 'Basic dXNlcjpwYXNz';
      if (choice.ifMatch !== undefined) {
        headers['if-match'] = choice.ifMatch === 'valid' ? current.etag : choice.ifMatch;
      }
      if (choice.idempotencyKey !== undefined) headers['idempotency-key'] = choice.idempotencyKey;
      const withBody = testCase.method !== 'get' && choice.body !== undefined;
      if (withBody) headers['content-type'] = choice.contentType;
      const form = choice.contentType === 'application/x-www-form-urlencoded';
      return {
        method: testCase.method.toUpperCase() as 'GET',
        url: `${path}${queryFrom(choice.query)}`,
        headers,
        ...(withBody ? { payload: form ? formFrom(choice.body) : choice.body } : {}),
      };
    });
}

// ---------------------------------------------------------------- fixtures

async function makeFixture(app: TestApp['app']): Promise<Fixture> {
  const owner = await createUser(app);
  const stranger = await createUser(app);
  const made = async (user: TestUser) => {
    const post = async (url: string, payload: Json) => {
      const response = await app.inject({ method: 'POST', url, headers: user.headers, payload });
      expect(response.statusCode, response.body).toBe(201);
      return response.json<{ id: string }>().id;
    };
    const project = await post('/api/v1/projects', { name: 'Fuzz' });
    const task = await post(`/api/v1/projects/${project}/tasks`, { title: 'Fuzz' });
    const comment = await post(`/api/v1/tasks/${task}/comments`, { body: 'Fuzz' });
    const token = await post('/api/v1/users/me/tokens', { name: 'fuzz', scopes: ['read'] });
    return { project, task, comment, token };
  };
  const mine = await made(owner);
  const theirs = await made(stranger);
  const ids = (own: typeof mine, user: TestUser, session: string): Record<string, string> => ({
    '/api/v1/projects/{id}:id': own.project,
    '/api/v1/projects/{id}/tasks:id': own.project,
    '/api/v1/projects/{id}/members:id': own.project,
    '/api/v1/projects/{id}/members/{user_id}:id': own.project,
    '/api/v1/projects/{id}/members/{user_id}:user_id': user.user.id,
    '/api/v1/projects/{id}/activity:id': own.project,
    '/api/v1/tasks/{id}:id': own.task,
    '/api/v1/tasks/{id}/comments:id': own.task,
    '/api/v1/comments/{id}:id': own.comment,
    '/api/v1/users/me/tokens/{id}:id': own.token,
    '/api/v1/users/me/sessions/{id}:id': session,
    '/api/v1/users/{id}:id': user.user.id,
  });
  return {
    owner,
    stranger,
    ids: ids(mine, owner, owner.sessionId),
    foreignIds: ids(theirs, stranger, stranger.sessionId),
    etag: '"1"',
  };
}

// ---------------------------------------------------------------- the test

describe(`schema-driven fuzzing (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    // Load shedding off: a busy test machine must not turn answers into 503s.
    t = await createTestApp({ config: { maxEventLoopDelayMs: 0 } });
    return () => t.close();
  });

  it('covers every operation of the document', () => {
    expect(cases.length).toBeGreaterThan(40);
  });

  it.each(cases.map((testCase) => [testCase.operation.operationId, testCase] as const))(
    '%s: never a 5xx, only documented statuses and bodies',
    async (_name, testCase) => {
      // Fresh data per operation, so one operation deleting its fixture cannot starve the next.
      const fixture = await makeFixture(t.app);
      const documented = testCase.operation.responses;
      await fc.assert(
        fc.asyncProperty(
          requestArbitrary(testCase, () => fixture),
          async (request) => {
            let response;
            try {
              response = await t.app.inject(request);
            } catch (error) {
              throw new Error(`the connection was dropped: ${String(error)}`);
            }
            const where = `${request.method} ${request.url.slice(0, 200)} → ${response.statusCode} ${response.body.slice(0, 300)}`;
            expect(response.statusCode, where).toBeLessThan(500);
            const entry = documented[String(response.statusCode)];
            expect(entry, `undocumented status: ${where}`).toBeDefined();
            const type = String(response.headers['content-type'] ?? '').split(';')[0] ?? '';
            if (response.body === '' || entry?.content === undefined) return;
            const media = entry.content[type];
            expect(media, `undocumented content type ${type}: ${where}`).toBeDefined();
            if (media === undefined || !type.endsWith('json')) return;
            const validate = validatorFor(media.schema);
            const valid = validate(response.json());
            expect(valid, `${ajv.errorsText(validate.errors)}: ${where}`).toBe(true);
            expect(({} as Json).polluted).toBeUndefined();
          },
        ),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    },
    180_000,
  );
});
