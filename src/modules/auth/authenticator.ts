import type { Database } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { tokenHash } from '../../lib/secrets.js';
import type { AuthContext, Scope } from '../../plugins/auth.js';
import type { AccessTokens } from './access-tokens.js';
import {
  findPersonalToken,
  prepareFindSessionPrincipal,
  touchPersonalToken,
} from './auth.repository.js';
import type { SessionCache } from './session-cache.js';

export const PERSONAL_TOKEN_PREFIX = 'dkt_';

const ALL_SCOPES: ReadonlySet<Scope> = new Set(['read', 'write']);
// last_used_at is written at most this often, so a busy token does not write on every request.
const TOUCH_INTERVAL_MS = 60_000;

export interface AuthenticatorOptions {
  db: Database;
  accessTokens: AccessTokens;
  clock: Clock;
  /** Remembers live sessions for ≤ 1 s; see session-cache.ts for when it serves. */
  sessionCache: SessionCache;
}

/** Turns a bearer token (access JWT or `dkt_…` personal access token) into who is calling. */
export class Authenticator {
  private readonly db: Database;
  private readonly accessTokens: AccessTokens;
  private readonly clock: Clock;
  private readonly findSessionPrincipal: ReturnType<typeof prepareFindSessionPrincipal>;
  private readonly sessionCache: SessionCache;

  constructor({ db, accessTokens, clock, sessionCache }: AuthenticatorOptions) {
    this.db = db;
    this.sessionCache = sessionCache;
    this.accessTokens = accessTokens;
    this.clock = clock;
    this.findSessionPrincipal = prepareFindSessionPrincipal(db);
  }

  /** `null` for any token that is unknown, expired, revoked or whose user is inactive. */
  async resolve(token: string): Promise<AuthContext | null> {
    return token.startsWith(PERSONAL_TOKEN_PREFIX)
      ? this.resolvePersonalToken(token)
      : this.resolveAccessToken(token);
  }

  private async resolveAccessToken(token: string): Promise<AuthContext | null> {
    const claims = await this.accessTokens.verify(token);
    if (claims === null) return null;
    const now = this.clock.now().getTime();
    const cached = this.sessionCache.get(claims.sessionId);
    if (cached !== undefined) {
      if (cached.userId !== claims.userId || cached.expiresAt <= now) return null;
      return this.sessionAuth(cached.userId, cached.isSuperuser, claims.sessionId);
    }
    const startedAt = this.sessionCache.begin();
    const [principal] = await this.findSessionPrincipal.execute({ sessionId: claims.sessionId });
    if (
      principal === undefined ||
      principal.userId !== claims.userId ||
      !principal.isActive ||
      principal.revokedAt !== null ||
      principal.expiresAt.getTime() <= now
    ) {
      return null;
    }
    this.sessionCache.set(
      claims.sessionId,
      {
        userId: principal.userId,
        isSuperuser: principal.isSuperuser,
        expiresAt: principal.expiresAt.getTime(),
      },
      startedAt,
    );
    return this.sessionAuth(principal.userId, principal.isSuperuser, claims.sessionId);
  }

  private sessionAuth(userId: string, isSuperuser: boolean, sessionId: string): AuthContext {
    return {
      userId,
      isSuperuser,
      sessionId,
      tokenId: null,
      scopes: ALL_SCOPES,
    };
  }

  private async resolvePersonalToken(token: string): Promise<AuthContext | null> {
    const found = await findPersonalToken(this.db, tokenHash(token));
    if (found === null || !found.isActive) return null;
    const { token: row } = found;
    const now = this.clock.now().getTime();
    if (row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt.getTime() <= now))
      return null;
    if (row.lastUsedAt === null || now - row.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await touchPersonalToken(this.db, row.id);
    }
    return {
      userId: row.userId,
      isSuperuser: found.isSuperuser,
      sessionId: null,
      tokenId: row.id,
      scopes: new Set(row.scopes as Scope[]),
    };
  }
}
