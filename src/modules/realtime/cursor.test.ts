import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { comparePositions, decodePosition, encodePosition } from './cursor.js';

describe('event ids', () => {
  it('when a position is encoded, then decoding gives it back', () => {
    const position = { txid: '18446744073709551615', seq: 9_007_199_254_740_991 };
    expect(decodePosition(encodePosition(position))).toEqual(position);
  });

  it.each(['', 'not base64!', 'eA', Buffer.from('1.x').toString('base64url'), 'a'.repeat(65)])(
    'when the id is %j, then it is an invalid cursor',
    (cursor) => {
      expect(() => decodePosition(cursor)).toThrow(AppError);
    },
  );

  it('when a txid passes 64 bits, then it is refused', () => {
    expect(() => decodePosition(encodePosition({ txid: '18446744073709551616', seq: 1 }))).toThrow(
      AppError,
    );
  });

  it('when positions are compared, then txid orders first and seq second, numerically', () => {
    expect(comparePositions({ txid: '9', seq: 5 }, { txid: '10', seq: 1 })).toBeLessThan(0);
    expect(comparePositions({ txid: '10', seq: 2 }, { txid: '10', seq: 1 })).toBeGreaterThan(0);
    expect(comparePositions({ txid: '10', seq: 1 }, { txid: '10', seq: 1 })).toBe(0);
  });
});
