import { randomBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { App } from '../../src/app.js';
import { sessions, users, type UserRow } from '../../src/db/schema/index.js';
import { newId } from '../../src/lib/ids.js';

export const DEFAULT_PASSWORD = 'correct horse battery staple';

let defaultHash: Promise<string> | undefined;
/** One argon2id hash per test process; users made by the factory share the default password. */
function passwordHash(): Promise<string> {
  defaultHash ??= hash(DEFAULT_PASSWORD, {
    algorithm: 2,
    memoryCost: 19_456,
    timeCost: 2,
    parallelism: 1,
  });
  return defaultHash;
}

export interface TestUser {
  user: UserRow;
  sessionId: string;
  token: string;
  /** Headers that authenticate as this user. */
  headers: { authorization: string };
}

export interface UserOverrides {
  email?: string;
  fullName?: string | null;
  isSuperuser?: boolean;
  isActive?: boolean;
}

/** A stored user with a live session and an access token for it. */
export async function createUser(app: App, overrides: UserOverrides = {}): Promise<TestUser> {
  const [user] = await app.db
    .insert(users)
    .values({
      id: newId(),
      email: overrides.email ?? `user-${randomBytes(5).toString('hex')}@example.com`,
      passwordHash: await passwordHash(),
      fullName: overrides.fullName === undefined ? 'Test User' : overrides.fullName,
      isSuperuser: overrides.isSuperuser ?? false,
      isActive: overrides.isActive ?? true,
    })
    .returning();
  if (user === undefined) throw new Error('user not inserted');
  const sessionId = newId();
  await app.db.insert(sessions).values({
    id: sessionId,
    userId: user.id,
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  const { token } = await app.services.accessTokens.sign({ userId: user.id, sessionId });
  return { user, sessionId, token, headers: { authorization: `Bearer ${token}` } };
}
