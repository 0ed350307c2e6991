import type { webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { newId } from '../../lib/ids.js';

export const TOKEN_ISSUER = 'docket';
export const TOKEN_AUDIENCE = 'docket-api';
const ALGORITHM = 'HS256';
const TOKEN_TYPE = 'at+jwt';
const VERIFIED_CACHE_SIZE = 10_000;

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

export interface SignedAccessToken {
  token: string;
  expiresIn: number;
}

/** Short-lived access JWTs (RFC 9068 shape) bound to a session, signed and verified with one key. */
export class AccessTokens {
  // Imported once: handing jose raw bytes would import the key again on every verification.
  private readonly key: Promise<webcrypto.CryptoKey>;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
  }

  async sign({ userId, sessionId }: AccessClaims): Promise<SignedAccessToken> {
    const token = await new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: TOKEN_TYPE })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(userId)
      .setJti(newId())
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(await this.key);
    return { token, expiresIn: this.ttlSeconds };
  }

  /**
   * Tokens already verified, with their expiry: a client sends the same token for minutes, and
   * the same bytes verify the same way, so the signature check runs once per token, not per
   * request. Expiry is checked on every hit; liveness of the session is checked by the caller.
   */
  private readonly verified = new Map<string, { claims: AccessClaims; expiresAt: number }>();

  /** Returns the claims, or `null` for any token that is not a valid, current access token. */
  async verify(token: string): Promise<AccessClaims | null> {
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (cached.expiresAt > Date.now()) return cached.claims;
      this.verified.delete(token);
      return null;
    }
    const claims = await this.verifySignature(token);
    if (claims !== null) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) {
        const oldest = this.verified.keys().next();
        if (oldest.done !== true) this.verified.delete(oldest.value);
      }
      this.verified.set(token, claims);
      return claims.claims;
    }
    return null;
  }

  private async verifySignature(
    token: string,
  ): Promise<{ claims: AccessClaims; expiresAt: number } | null> {
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: [ALGORITHM],
        typ: TOKEN_TYPE,
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid'],
      });
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.sid !== 'string' ||
        payload.exp === undefined
      ) {
        return null;
      }
      return {
        claims: { userId: payload.sub, sessionId: payload.sid },
        expiresAt: payload.exp * 1000,
      };
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  }
}
