import { eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import { type UserRow, users } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { enqueueMail } from '../../jobs/mail.js';
import { escapeHtml } from '../../lib/mailer.js';
import { randomToken, tokenHash } from '../../lib/secrets.js';
import {
  clearLoginFailures,
  consumeActionToken,
  findUserByEmail,
  findUserById,
  insertActionToken,
  revokeUserSessions,
} from './auth.repository.js';
import { normaliseEmail } from './auth.service.js';
import { assertAcceptablePassword, hashPassword } from './passwords.js';
import type { SessionCache } from './session-cache.js';

const RESET_TTL_MS = 60 * 60 * 1000;
const VERIFY_TTL_MS = 48 * 60 * 60 * 1000;

function invalidToken(): AppError {
  return new AppError('invalid_token_value', 'The link is invalid, expired or already used.', {
    errors: [
      {
        location: 'body',
        field: 'token',
        message: 'is invalid, expired or already used',
        code: 'invalid_token',
      },
    ],
  });
}

export interface AccountMailServiceOptions {
  db: Database;
  config: Config;
  jobs: JobQueue;
  clock: Clock;
  sessionCache: SessionCache;
}

/** Password recovery and email verification: single-use, hashed, expiring tokens sent by mail. */
export class AccountMailService {
  private readonly db: Database;
  private readonly config: Config;
  private readonly jobs: JobQueue;
  private readonly clock: Clock;
  private readonly sessionCache: SessionCache;

  constructor({ db, config, jobs, clock, sessionCache }: AccountMailServiceOptions) {
    this.db = db;
    this.sessionCache = sessionCache;
    this.config = config;
    this.jobs = jobs;
    this.clock = clock;
  }

  private link(path: string, token: string): string {
    return `${this.config.publicUrl}${path}?token=${encodeURIComponent(token)}`;
  }

  /** Queues the mail in `tx`, the transaction that stores the token it carries. */
  private async send(
    tx: Executor,
    to: string,
    subject: string,
    intro: string,
    link: string,
    outro: string,
  ): Promise<void> {
    await enqueueMail(this.jobs, tx, {
      to,
      subject,
      text: `${intro}\n\n${link}\n\n${outro}\n`,
      html: `<p>${escapeHtml(intro)}</p><p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>${escapeHtml(outro)}</p>`,
    });
  }

  /**
   * Stores a verification token and queues its mail, in `tx` when the caller has a transaction
   * (so the mail goes out only if the account change commits), else in one of its own.
   */
  async sendVerification(
    user: Pick<UserRow, 'id' | 'email'>,
    tx: Executor | null = null,
  ): Promise<void> {
    if (tx === null) {
      await this.db.transaction((own) => this.sendVerification(user, own));
      return;
    }
    const token = randomToken();
    await insertActionToken(tx, {
      id: newId(),
      userId: user.id,
      purpose: 'verify_email',
      tokenHash: tokenHash(token),
      email: user.email,
      expiresAt: new Date(this.clock.now().getTime() + VERIFY_TTL_MS),
    });
    await this.send(
      tx,
      user.email,
      'Confirm your email address for Docket',
      'Open this link to confirm your email address:',
      this.link('/verify-email', token),
      'If you did not ask for this, ignore this mail.',
    );
  }

  /** Always succeeds from the caller's view, so it does not reveal which addresses have accounts. */
  async requestPasswordReset(email: string): Promise<void> {
    const user = await findUserByEmail(this.db, normaliseEmail(email));
    if (user === null || !user.isActive) return;
    const token = randomToken();
    await this.db.transaction(async (tx) => {
      await insertActionToken(tx, {
        id: newId(),
        userId: user.id,
        purpose: 'password_reset',
        tokenHash: tokenHash(token),
        email: user.email,
        expiresAt: new Date(this.clock.now().getTime() + RESET_TTL_MS),
      });
      await this.send(
        tx,
        user.email,
        'Reset your Docket password',
        'Open this link within one hour to choose a new password:',
        this.link('/reset-password', token),
        'If you did not ask for this, ignore this mail; your password stays as it is.',
      );
    });
  }

  /** Sets the new password, lifts any lock-out and ends every session of the user. */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    await assertAcceptablePassword(newPassword, 'new_password');
    const passwordHash = await hashPassword(newPassword);
    const userId = await this.db.transaction(async (tx) => {
      const claimed = await consumeActionToken(tx, tokenHash(token), 'password_reset');
      if (claimed === null) throw invalidToken();
      await clearLoginFailures(tx, claimed.userId, passwordHash);
      await revokeUserSessions(tx, claimed.userId, 'password_reset');
      return claimed.userId;
    });
    await this.sessionCache.invalidateUser(userId);
  }

  async verifyEmail(token: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const claimed = await consumeActionToken(tx, tokenHash(token), 'verify_email');
      if (claimed === null) throw invalidToken();
      const user = await findUserById(tx, claimed.userId);
      // A link to an address the user has since replaced verifies nothing.
      if (user === null || user.email !== claimed.email) throw invalidToken();
      await tx
        .update(users)
        .set({ emailVerifiedAt: this.clock.now() })
        .where(eq(users.id, user.id));
    });
  }
}
