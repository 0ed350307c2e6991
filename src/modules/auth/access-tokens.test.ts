import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessTokens } from './access-tokens.js';

const SECRET = 'unit-test-secret-that-is-long-enough-0123456789';

describe('AccessTokens', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('when a token is verified again after it expired, then the remembered result does not save it', async () => {
    const tokens = new AccessTokens(SECRET, 60);
    const { token } = await tokens.sign({ userId: 'u1', sessionId: 's1' });
    expect(await tokens.verify(token)).toEqual({ userId: 'u1', sessionId: 's1' });
    expect(await tokens.verify(token)).toEqual({ userId: 'u1', sessionId: 's1' });
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ['Date'] });
    expect(await tokens.verify(token)).toBeNull();
    expect(await tokens.verify(token)).toBeNull();
  });

  it('when a token is signed with another secret, then it is refused, however often it is tried', async () => {
    const other = new AccessTokens(`${SECRET}-other`, 60);
    const { token } = await other.sign({ userId: 'u1', sessionId: 's1' });
    const tokens = new AccessTokens(SECRET, 60);
    expect(await tokens.verify(token)).toBeNull();
    expect(await tokens.verify(token)).toBeNull();
    expect(await tokens.verify(`${token}x`)).toBeNull();
  });
});
