import { describe, expect, it } from 'vitest';
import { isConnectionLoss } from './connection-errors.js';

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('isConnectionLoss', () => {
  it.each([
    'CONNECTION_ENDED',
    'CONNECTION_DESTROYED',
    'CONNECTION_CLOSED',
    'CONNECT_TIMEOUT',
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    '08000',
    '08003',
    '08006',
    '08P01',
    '57P01',
    '57P02',
    '57P03',
  ])('when the code is %s, then the connection was lost', (code) => {
    expect(isConnectionLoss(coded(code))).toBe(true);
  });

  it.each([
    '23505', // unique_violation
    '40001', // serialization_failure
    '57014', // query_canceled
    '57P04', // database_dropped: not a passing outage
    '0800', // too short for a SQLSTATE
    '080000',
    'MAX_PARAMETERS_EXCEEDED',
    'UNSAFE_TRANSACTION',
  ])('when the code is %s, then it is not a connection loss', (code) => {
    expect(isConnectionLoss(coded(code))).toBe(false);
  });

  it('when a query error wraps the driver error, then the cause is what counts', () => {
    const driver = coded('CONNECTION_CLOSED', 'write CONNECTION_CLOSED 127.0.0.1:5432');
    const wrapped = new Error('Failed query: select 1', { cause: driver });
    expect(isConnectionLoss(wrapped)).toBe(true);
    expect(isConnectionLoss(new Error('Failed query', { cause: coded('23505') }))).toBe(false);
  });

  it('when the value is not an error with a code, then it is not a connection loss', () => {
    expect(isConnectionLoss(undefined)).toBe(false);
    expect(isConnectionLoss(null)).toBe(false);
    expect(isConnectionLoss('ECONNRESET')).toBe(false);
    expect(isConnectionLoss(new Error('ECONNRESET'))).toBe(false);
    expect(isConnectionLoss({ code: 57 })).toBe(false);
  });

  it('when errors wrap each other in a cycle, then the check still ends', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isConnectionLoss(a)).toBe(false);
  });
});
