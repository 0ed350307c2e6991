import type { Database } from '../../db/client.js';
import type { PersonalAccessTokenRow, SessionRow, UserRow } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { type Page, pageByKey } from '../../lib/pagination.js';
import { randomToken, tokenHash } from '../../lib/secrets.js';
import type { AuthContext } from '../../plugins/auth.js';
import { insertEvent, scrubProjectCommentText } from '../activity/events.repository.js';
import { findUserById, revokeUserSessions } from '../auth/auth.repository.js';
import type { SessionCache } from '../auth/session-cache.js';
import type { AccountMailService } from '../auth/account-mail.service.js';
import { normaliseEmail } from '../auth/auth.service.js';
import { PERSONAL_TOKEN_PREFIX } from '../auth/authenticator.js';
import { assertAcceptablePassword, hashPassword, verifyPassword } from '../auth/passwords.js';
import {
  countSoleOwnedSharedProjects,
  deleteSoloProjects,
  deleteUser,
  insertPersonalToken,
  listLiveSessions,
  listPersonalTokens,
  listUsers,
  revokeOwnSession,
  revokePersonalToken,
  type UserChanges,
  updateUser,
} from './users.repository.js';
import type {
  SessionPublic,
  TokenCreate,
  TokenPublic,
  UserAdminUpdate,
  UserListQuery,
  UserPublic,
  UserUpdateMe,
} from './users.schemas.js';

export function toUserPublic(user: UserRow): UserPublic {
  return {
    id: user.id,
    email: user.email,
    full_name: user.fullName,
    is_active: user.isActive,
    is_superuser: user.isSuperuser,
    email_verified_at: user.emailVerifiedAt?.toISOString() ?? null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

function toSessionPublic(session: SessionRow, currentId: string | null): SessionPublic {
  return {
    id: session.id,
    user_agent: session.userAgent,
    ip_address: session.ipAddress,
    created_at: session.createdAt.toISOString(),
    last_used_at: session.lastUsedAt.toISOString(),
    expires_at: session.expiresAt.toISOString(),
    current: session.id === currentId,
  };
}

export function toTokenPublic(token: PersonalAccessTokenRow): TokenPublic {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes as ('read' | 'write')[],
    expires_at: token.expiresAt?.toISOString() ?? null,
    last_used_at: token.lastUsedAt?.toISOString() ?? null,
    created_at: token.createdAt.toISOString(),
  };
}

export interface UsersServiceOptions {
  db: Database;
  accountMail: AccountMailService;
  clock: Clock;
  sessionCache: SessionCache;
}

export class UsersService {
  private readonly db: Database;
  private readonly accountMail: AccountMailService;
  private readonly clock: Clock;
  private readonly sessionCache: SessionCache;

  constructor({ db, accountMail, clock, sessionCache }: UsersServiceOptions) {
    this.db = db;
    this.sessionCache = sessionCache;
    this.accountMail = accountMail;
    this.clock = clock;
  }

  async me(auth: AuthContext): Promise<UserRow> {
    const user = await findUserById(this.db, auth.userId);
    if (user === null) throw new AppError('user_not_found');
    return user;
  }

  async updateMe(auth: AuthContext, input: UserUpdateMe): Promise<UserRow> {
    const changes: UserChanges = {};
    if (input.full_name !== undefined) changes.fullName = input.full_name;
    if (input.email !== undefined) {
      const email = normaliseEmail(input.email);
      const current = await this.me(auth);
      if (email !== current.email) {
        changes.email = email;
        changes.emailVerifiedAt = null;
      }
    }
    // One transaction: the new address, its verification token and the mail carrying it.
    return this.db.transaction(async (tx) => {
      const updated = await updateUser(tx, auth.userId, changes);
      if (updated === null) {
        throw new AppError('email_taken', 'An account with this email already exists.');
      }
      if (changes.email !== undefined) await this.accountMail.sendVerification(updated, tx);
      return updated;
    });
  }

  async deleteMe(auth: AuthContext): Promise<void> {
    await this.deleteUserChecked(auth.userId, auth.userId);
  }

  private async deleteUserChecked(userId: string, actorId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if ((await countSoleOwnedSharedProjects(tx, userId)) > 0) {
        throw new AppError(
          'sole_owner',
          'This user is the only owner of a project with other members; transfer ownership first.',
        );
      }
      for (const project of await deleteSoloProjects(tx, userId)) {
        await scrubProjectCommentText(tx, project.id);
        await insertEvent(tx, {
          type: 'project.deleted',
          projectId: project.id,
          actorId,
          entityId: project.id,
          data: { id: project.id, name: project.name, reason: 'account_deleted' },
        });
      }
      if (!(await deleteUser(tx, userId))) throw new AppError('user_not_found');
    });
    await this.sessionCache.invalidateUser(userId);
  }

  async changePassword(auth: AuthContext, current: string, next: string): Promise<void> {
    const user = await this.me(auth);
    if (!(await verifyPassword(user.passwordHash, current))) {
      throw new AppError('invalid_password', 'The current password is wrong.', {
        errors: [
          { location: 'body', field: 'current_password', message: 'is wrong', code: 'mismatch' },
        ],
      });
    }
    await assertAcceptablePassword(next, 'new_password');
    const passwordHash = await hashPassword(next);
    await this.db.transaction(async (tx) => {
      await updateUser(tx, user.id, { passwordHash });
      await revokeUserSessions(tx, user.id, 'password_changed', auth.sessionId);
    });
    await this.sessionCache.invalidateUser(user.id);
  }

  async sessions(auth: AuthContext): Promise<SessionPublic[]> {
    const rows = await listLiveSessions(this.db, auth.userId);
    return rows.map((row) => toSessionPublic(row, auth.sessionId));
  }

  async endSession(auth: AuthContext, sessionId: string): Promise<void> {
    if (!(await revokeOwnSession(this.db, auth.userId, sessionId)))
      throw new AppError('session_not_found');
    await this.sessionCache.invalidateUser(auth.userId);
  }

  async tokens(auth: AuthContext): Promise<TokenPublic[]> {
    return (await listPersonalTokens(this.db, auth.userId)).map(toTokenPublic);
  }

  async createToken(
    auth: AuthContext,
    input: TokenCreate,
  ): Promise<TokenPublic & { token: string }> {
    if (input.expires_at != null && Date.parse(input.expires_at) <= this.clock.now().getTime()) {
      throw new AppError('validation_failed', 'expires_at must be in the future.', {
        errors: [
          {
            location: 'body',
            field: 'expires_at',
            message: 'must be in the future',
            code: 'too_small',
          },
        ],
      });
    }
    const secret = `${PERSONAL_TOKEN_PREFIX}${randomToken()}`;
    const row = await insertPersonalToken(this.db, {
      id: newId(),
      userId: auth.userId,
      name: input.name,
      tokenHash: tokenHash(secret),
      scopes: input.scopes,
      expiresAt: input.expires_at == null ? null : new Date(input.expires_at),
    });
    return { ...toTokenPublic(row), token: secret };
  }

  async revokeToken(auth: AuthContext, tokenId: string): Promise<void> {
    if (!(await revokePersonalToken(this.db, auth.userId, tokenId)))
      throw new AppError('token_not_found');
  }

  async list(query: UserListQuery): Promise<Page<UserPublic>> {
    return pageByKey(
      'users',
      query,
      (afterId, limit) => listUsers(this.db, { q: query.q, afterId, limit }),
      toUserPublic,
      (row) => row.id,
    );
  }

  async get(userId: string): Promise<UserRow> {
    const user = await findUserById(this.db, userId);
    if (user === null) throw new AppError('user_not_found');
    return user;
  }

  async adminUpdate(userId: string, input: UserAdminUpdate): Promise<UserRow> {
    const updated = await this.db.transaction(async (tx) => {
      const changes: UserChanges = {};
      if (input.is_active !== undefined) changes.isActive = input.is_active;
      if (input.is_superuser !== undefined) changes.isSuperuser = input.is_superuser;
      const user = await updateUser(tx, userId, changes);
      if (user === null) throw new AppError('user_not_found');
      if (input.is_active === false) await revokeUserSessions(tx, userId, 'deactivated');
      return user;
    });
    // Activation and superuser changes alter what a cached session resolves to, too.
    await this.sessionCache.invalidateUser(userId);
    return updated;
  }

  async adminDelete(auth: AuthContext, userId: string): Promise<void> {
    await this.deleteUserChecked(userId, auth.userId);
  }
}
