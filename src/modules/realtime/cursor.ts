import { AppError } from '../../lib/errors.js';
import type { EventPosition } from '../activity/events.repository.js';

const POSITION = /^(\d{1,20})\.(\d{1,16})$/;

/** The opaque event id clients resume from: the position of the event in the committed log. */
export function encodePosition(position: EventPosition): string {
  return Buffer.from(`${position.txid}.${position.seq}`).toString('base64url');
}

/** Reads an event id this API issued; anything else is a 400 `invalid_cursor`. */
export function decodePosition(cursor: string): EventPosition {
  const match = /^[A-Za-z0-9_-]{1,64}$/.test(cursor)
    ? POSITION.exec(Buffer.from(cursor, 'base64url').toString())
    : null;
  const seq = Number(match?.[2]);
  if (!match?.[1] || !Number.isSafeInteger(seq) || BigInt(match[1]) >= 2n ** 64n) {
    throw new AppError('invalid_cursor', 'The event id is not one this API issued.');
  }
  return { txid: BigInt(match[1]).toString(), seq };
}

/** Negative when `a` comes before `b` in the log, zero when equal, positive after. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  const ta = BigInt(a.txid);
  const tb = BigInt(b.txid);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.seq - b.seq;
}
