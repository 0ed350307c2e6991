import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { describe, expect, it } from 'vitest';
import { sharedSerializers } from './shared-serializers.js';

describe('shared response serialisers', () => {
  it('when routes answer with the same schema object, then it is compiled once, and another schema gets its own', () => {
    const fastify = SerializerSelector();
    let compiled = 0;
    const counting: typeof fastify = (external, options) => {
      const compile = fastify(external, options);
      return (route) => {
        compiled += 1;
        return compile(route);
      };
    };
    const compile = sharedSerializers(counting)({}, {});
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const first = compile({ method: 'GET', url: '/a', httpStatus: '404', schema });
    const second = compile({ method: 'POST', url: '/b', httpStatus: '422', schema });
    expect(second).toBe(first);
    expect(compiled).toBe(1);
    expect(first({ a: 'x', b: 1 })).toBe('{"a":"x"}');

    const other = compile({
      method: 'GET',
      url: '/c',
      httpStatus: '200',
      schema: { type: 'object', properties: { b: { type: 'integer' } } },
    });
    expect(other).not.toBe(first);
    expect(compiled).toBe(2);
    expect(other({ a: 'x', b: 1 })).toBe('{"b":1}');
  });
});
