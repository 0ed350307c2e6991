import { hash, randomBytes } from 'node:crypto';

/** 256 bits of randomness, URL-safe. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tokens are high-entropy, so a fast hash is the right one for looking them up. */
export function tokenHash(token: string): string {
  return hash('sha256', token, 'base64url');
}
