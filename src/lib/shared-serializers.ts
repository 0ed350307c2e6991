import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;
type Serializer = ReturnType<ReturnType<SerializerFactory>>;

/**
 * Fastify's response serialiser factory, compiling each schema object once per encapsulation
 * context instead of once per route and status. Most answers share their schema objects (every
 * route's problem answers are one `ProblemSchema`), and compiling serialisers was the largest
 * part of start-up. The compiled function depends only on the schema and the context's shared
 * schemas, which is what the cache is keyed by.
 */
export function sharedSerializers(
  factory: SerializerFactory = SerializerSelector(),
): SerializerFactory {
  return (externalSchemas, options) => {
    const compile = factory(externalSchemas, options);
    const compiled = new WeakMap<object, Serializer>();
    return (route) => {
      const schema = route.schema;
      if (typeof schema !== 'object' || schema === null) return compile(route);
      let serialize = compiled.get(schema);
      if (serialize === undefined) {
        serialize = compile(route);
        compiled.set(schema, serialize);
      }
      return serialize;
    };
  };
}
