import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from './delivery.service.js';
import { matchesFilters } from './event-filter.js';
import { newSecret, signatureHeader } from './signature.js';
import { parseRetryAfter } from './webhook-sender.js';

describe('retryDelaySeconds', () => {
  const schedule = [5, 300, 1800];

  it('when jittered, then the delay stays within ±10 % of the step', () => {
    expect(retryDelaySeconds(schedule, 1, null, () => 0)).toBeCloseTo(4.5);
    expect(retryDelaySeconds(schedule, 1, null, () => 1)).toBeCloseTo(5.5);
    expect(retryDelaySeconds(schedule, 2, null, () => 0.5)).toBeCloseTo(300);
  });

  it('when the receiver asks for longer, then Retry-After wins, up to a day', () => {
    expect(retryDelaySeconds(schedule, 1, 120, () => 0.5)).toBe(120);
    expect(retryDelaySeconds(schedule, 1, 1, () => 0.5)).toBeCloseTo(5);
    expect(retryDelaySeconds(schedule, 1, 10 * 86_400, () => 0.5)).toBe(86_400);
  });

  it('when the schedule is spent, then there is no next attempt', () => {
    expect(retryDelaySeconds(schedule, 4, null)).toBeNull();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores anything else', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe('signatureHeader', () => {
  it('when two secrets sign, then the reference verifier accepts the header with either', () => {
    const [current, previous] = [newSecret(), newSecret()];
    const body = JSON.stringify({ id: 'e1', type: 'task.created' });
    const timestamp = Math.floor(Date.now() / 1000);
    const header = signatureHeader([current, previous], 'msg_1', timestamp, body);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': header,
    };
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, headers)).toThrow();
  });
});

describe('matchesFilters', () => {
  it('matches exact types, families and everything; pings always', () => {
    expect(matchesFilters(['task.created'], 'task.created')).toBe(true);
    expect(matchesFilters(['task.created'], 'task.updated')).toBe(false);
    expect(matchesFilters(['task.*'], 'task.moved')).toBe(true);
    expect(matchesFilters(['task.*'], 'comment.created')).toBe(false);
    expect(matchesFilters(['*'], 'member.added')).toBe(true);
    expect(matchesFilters(['comment.*'], 'webhook.ping')).toBe(true);
  });
});
