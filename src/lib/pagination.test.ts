import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMIT, encodeCursor, pageByKey, pageLimit } from './pagination.js';

const IDS = [
  '01a20c75-c83d-7321-9559-2498ce98cd01',
  '01a20c75-c83d-7321-9559-2498ce98cd02',
  '01a20c75-c83d-7321-9559-2498ce98cd03',
];

describe('pageLimit', () => {
  it('when no limit is asked for, then the default; otherwise the one asked for', () => {
    expect(pageLimit({})).toBe(DEFAULT_LIMIT);
    expect(pageLimit({ limit: 7 })).toBe(7);
  });
});

describe('pageByKey', () => {
  const fetchAfter =
    (calls: [string | null, number][]) => async (after: string | null, limit: number) => {
      calls.push([after, limit]);
      return IDS.filter((id) => after === null || id > after)
        .slice(0, limit + 1)
        .map((id) => ({ id }));
    };

  it('when more rows follow, then it keeps `limit` and the cursor resumes after the last kept', async () => {
    const calls: [string | null, number][] = [];
    const first = await pageByKey(
      'things',
      { limit: 2 },
      fetchAfter(calls),
      (row) => row.id,
      (row) => row.id,
    );
    expect(first.items).toEqual(IDS.slice(0, 2));
    expect(first.next_cursor).toBe(encodeCursor('things', [IDS[1]]));

    const second = await pageByKey(
      'things',
      { limit: 2, cursor: first.next_cursor ?? '' },
      fetchAfter(calls),
      (row) => row.id,
      (row) => row.id,
    );
    expect(second).toEqual({ items: [IDS[2]], next_cursor: null });
    expect(calls).toEqual([
      [null, 2],
      [IDS[1], 2],
    ]);
  });

  it("when the cursor is another listing's or not a uuid, then invalid_cursor", async () => {
    const fetch = fetchAfter([]);
    const id = (row: { id: string }) => row.id;
    await expect(
      pageByKey('things', { cursor: encodeCursor('others', [IDS[0]]) }, fetch, id, id),
    ).rejects.toMatchObject({ code: 'invalid_cursor' });
    await expect(
      pageByKey('things', { cursor: encodeCursor('things', ['x']) }, fetch, id, id),
    ).rejects.toMatchObject({ code: 'invalid_cursor' });
  });
});
