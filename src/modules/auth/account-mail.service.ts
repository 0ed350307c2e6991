import { eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { type UserRow, users } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { escapeHtml, type Mailer } from '../../lib/mailer.js';
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
  mailer: Mailer;
  clock: Clock;
}

/** Password recovery and email verification: single-use, hashed, expiring tokens sent by mail. */
export class AccountMailService {
  private readonly db: Database;
  private readonly config: Config;
  private readonly mailer: Mailer;
  private readonly clock: Clock;

  constructor({ db, config, mailer, clock }: AccountMailServiceOptions) {
    this.db = db;
    this.config = config;
    this.mailer = mailer;
    this.clock = clock;
  }

  private link(path: string, token: string): string {
    return `${this.config.publicUrl}${path}?token=${encodeURIComponent(token)}`;
  }

  private send(to: string, subject: string, intro: string, link: string, outro: string): void {
    this.mailer.send({
      to,
      subject,
      text: `${intro}\n\n${link}\n\n${outro}\n`,
      html: `<p>${escapeHtml(intro)}</p><p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>${escapeHtml(outro)}</p>`,
    });
  }

  async sendVerification(user: Pick<UserRow, 'id' | 'email'>): Promise<void> {
    const token = randomToken();
    await insertActionToken(this.db, {
      id: newId(),
      userId: user.id,
      purpose: 'verify_email',
      tokenHash: tokenHash(token),
      email: user.email,
      expiresAt: new Date(this.clock.now().getTime() + VERIFY_TTL_MS),
    });
    this.send(
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
    await insertActionToken(this.db, {
      id: newId(),
      userId: user.id,
      purpose: 'password_reset',
      tokenHash: tokenHash(token),
      email: user.email,
      expiresAt: new Date(this.clock.now().getTime() + RESET_TTL_MS),
    });
    this.send(
      user.email,
      'Reset your Docket password',
      'Open this link within one hour to choose a new password:',
      this.link('/reset-password', token),
      'If you did not ask for this, ignore this mail; your password stays as it is.',
    );
  }

  /** Sets the new password, lifts any lock-out and ends every session of the user. */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    assertAcceptablePassword(newPassword, 'new_password');
    const passwordHash = await hashPassword(newPassword);
    await this.db.transaction(async (tx) => {
      const claimed = await consumeActionToken(tx, tokenHash(token), 'password_reset');
      if (claimed === null) throw invalidToken();
      await clearLoginFailures(tx, claimed.userId, passwordHash);
      await revokeUserSessions(tx, claimed.userId, 'password_reset');
    });
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
