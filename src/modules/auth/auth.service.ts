import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { UserRow } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { randomToken, tokenHash } from '../../lib/secrets.js';
import type { AccessTokens } from './access-tokens.js';
import type { AccountMailService } from './account-mail.service.js';
import { PERSONAL_TOKEN_PREFIX } from './authenticator.js';
import {
  clearLoginFailures,
  findRefreshTokenForUpdate,
  findUserByEmail,
  insertRefreshToken,
  insertSession,
  insertUser,
  markRefreshTokenUsed,
  recordLoginFailure,
  revokePersonalTokenByHash,
  revokeSession,
  touchSession,
} from './auth.repository.js';
import {
  assertAcceptablePassword,
  dummyHash,
  hashPassword,
  needsRehash,
  verifyPassword,
} from './passwords.js';
import type { SessionCache } from './session-cache.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

export interface ClientInfo {
  userAgent: string | null;
  ipAddress: string;
}

export interface RegisterInput {
  email: string;
  password: string;
  full_name?: string | null | undefined;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface AuthServiceOptions {
  db: Database;
  config: Config;
  accessTokens: AccessTokens;
  clock: Clock;
  sessionCache: SessionCache;
  /** Sends the verification mail of a new account; without it, registration sends none. */
  accountMail?: AccountMailService | null;
}

export class AuthService {
  private readonly db: Database;
  private readonly config: Config;
  private readonly accessTokens: AccessTokens;
  private readonly clock: Clock;
  private readonly accountMail: AccountMailService | null;
  private readonly sessionCache: SessionCache;

  constructor({
    db,
    config,
    accessTokens,
    clock,
    sessionCache,
    accountMail = null,
  }: AuthServiceOptions) {
    this.db = db;
    this.sessionCache = sessionCache;
    this.config = config;
    this.accessTokens = accessTokens;
    this.clock = clock;
    this.accountMail = accountMail;
  }

  /**
   * Creates an account and, with `accountMail`, the token of its verification mail and the
   * queued mail itself, all in one transaction. Superusers are created by an operator and get
   * no mail.
   */
  async register(input: RegisterInput, superuser = false): Promise<UserRow> {
    await assertAcceptablePassword(input.password);
    const passwordHash = await hashPassword(input.password);
    const user = await this.db.transaction(async (tx) => {
      const created = await insertUser(tx, {
        id: newId(),
        email: normaliseEmail(input.email),
        passwordHash,
        fullName: input.full_name ?? null,
        isSuperuser: superuser,
      });
      if (created === null)
        throw new AppError('email_taken', 'An account with this email already exists.');
      if (!superuser && this.accountMail) await this.accountMail.sendVerification(created, tx);
      return created;
    });
    return user;
  }

  /** `null` for every failure, so the caller answers unknown, wrong, locked and inactive alike. */
  async passwordGrant(
    email: string,
    password: string,
    client: ClientInfo,
  ): Promise<TokenResponse | null> {
    const user = await findUserByEmail(this.db, normaliseEmail(email));
    if (user === null) {
      await verifyPassword(await dummyHash(), password);
      return null;
    }
    const valid = await verifyPassword(user.passwordHash, password);
    const locked =
      user.lockedUntil !== null && user.lockedUntil.getTime() > this.clock.now().getTime();
    if (!valid) {
      await recordLoginFailure(this.db, user.id);
      return null;
    }
    if (locked || !user.isActive) return null;
    const rehashed = needsRehash(user.passwordHash) ? await hashPassword(password) : undefined;
    if (user.failedLogins > 0 || rehashed !== undefined)
      await clearLoginFailures(this.db, user.id, rehashed);
    return this.startSession(user.id, client);
  }

  private async startSession(userId: string, client: ClientInfo): Promise<TokenResponse> {
    const sessionId = newId();
    const refreshToken = randomToken();
    await this.db.transaction(async (tx) => {
      await insertSession(tx, {
        id: sessionId,
        userId,
        userAgent: client.userAgent?.slice(0, 500) ?? null,
        ipAddress: client.ipAddress,
        expiresAt: new Date(this.clock.now().getTime() + this.config.refreshTokenTtlSeconds * 1000),
      });
      await insertRefreshToken(tx, { id: newId(), sessionId, tokenHash: tokenHash(refreshToken) });
    });
    return this.tokens(userId, sessionId, refreshToken);
  }

  private async tokens(
    userId: string,
    sessionId: string,
    refreshToken: string,
  ): Promise<TokenResponse> {
    const access = await this.accessTokens.sign({ userId, sessionId });
    return {
      access_token: access.token,
      token_type: 'bearer',
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
      scope: '',
    };
  }

  /** Rotates the refresh token; presenting one already used ends its whole session (reuse detection). */
  async refreshGrant(refreshToken: string): Promise<TokenResponse | null> {
    const outcome = await this.db.transaction(async (tx) => {
      const found = await findRefreshTokenForUpdate(tx, tokenHash(refreshToken));
      if (found === null) return null;
      const { token, session, user } = found;
      if (token.usedAt !== null) {
        await revokeSession(tx, session.id, 'refresh_token_reuse');
        return { revoked: true, userId: session.userId } as const;
      }
      const now = this.clock.now().getTime();
      const idleSince = now - session.lastUsedAt.getTime();
      if (
        session.revokedAt !== null ||
        session.expiresAt.getTime() <= now ||
        idleSince > this.config.refreshIdleTimeoutSeconds * 1000 ||
        !user.isActive
      ) {
        return null;
      }
      const next = randomToken();
      await markRefreshTokenUsed(tx, token.id);
      await insertRefreshToken(tx, {
        id: newId(),
        sessionId: session.id,
        tokenHash: tokenHash(next),
      });
      await touchSession(tx, session.id);
      return { revoked: false, userId: user.id, sessionId: session.id, next } as const;
    });
    if (outcome === null) return null;
    if (outcome.revoked) {
      await this.sessionCache.invalidateUser(outcome.userId);
      return null;
    }
    return this.tokens(outcome.userId, outcome.sessionId, outcome.next);
  }

  /** RFC 7009: ends what the token opens; unknown tokens are silently accepted. */
  async revoke(token: string): Promise<void> {
    if (token.startsWith(PERSONAL_TOKEN_PREFIX)) {
      await revokePersonalTokenByHash(this.db, tokenHash(token));
      return;
    }
    const userId = await this.db.transaction(async (tx) => {
      const found = await findRefreshTokenForUpdate(tx, tokenHash(token));
      if (found === null) return null;
      await revokeSession(tx, found.session.id, 'revoked');
      return found.session.userId;
    });
    if (userId !== null) await this.sessionCache.invalidateUser(userId);
  }

  /** Creates the configured first superuser when there is no superuser yet. */
  async ensureFirstSuperuser(): Promise<void> {
    const first = this.config.firstSuperuser;
    if (first === null) return;
    const existing = await findUserByEmail(this.db, first.email);
    if (existing !== null) return;
    await this.register(
      { email: first.email, password: first.password, full_name: null },
      true,
    ).catch((error: unknown) => {
      if (!(error instanceof AppError && error.code === 'email_taken')) throw error;
    });
  }
}
