import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer.js';

describe('Coalescer', () => {
  it('when calls are made in the same turn, then one run serves them all, in order', async () => {
    const runs: number[][] = [];
    const double = new Coalescer(async (inputs: number[]) => {
      runs.push(inputs);
      return inputs.map((input) => input * 2);
    });
    expect(await Promise.all([double.call(1), double.call(2), double.call(3)])).toEqual([2, 4, 6]);
    expect(await double.call(4)).toBe(8);
    expect(runs).toEqual([[1, 2, 3], [4]]);
  });

  it('when the run throws, then every call of that turn rejects and the next turn runs again', async () => {
    let fail = true;
    const echo = new Coalescer(async (inputs: string[]) => {
      if (fail) throw new Error('down');
      return inputs;
    });
    const results = await Promise.allSettled([echo.call('a'), echo.call('b')]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await echo.call('c')).toBe('c');
  });
});
