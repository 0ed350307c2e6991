import { eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultRows } from '../../src/db/client.js';
import { users } from '../../src/db/schema/index.js';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';

/**
 * An account and the token its verification mail carries are stored together or not at all:
 * a user left without a token could never verify, and the address would stay taken.
 */
const t = useTestApp();
const PASSWORD = 'a sturdy passphrase 42';

/** Mails queued for `email` (the mail queue lives in the same database). */
async function mailsTo(email: string): Promise<number> {
  const rows = resultRows<{ n: number }>(
    await t.app.db.execute(
      sql`select count(*)::int as n from pgboss.job where name = 'mail' and data->>'to' = ${email}`,
    ),
  );
  return rows[0]?.n ?? -1;
}

describe('when storing the verification token fails', () => {
  // A real failure inside the database, where the token is written.
  beforeEach(async () => {
    await t.app.db.execute(sql`
      create or replace function refuse_action_token() returns trigger language plpgsql as $$
      begin raise exception 'action tokens are unavailable'; end $$`);
    await t.app.db.execute(sql`
      create trigger refuse_action_token before insert on action_tokens
      for each row execute function refuse_action_token()`);
  });
  afterEach(async () => {
    await t.app.db.execute(sql`drop trigger if exists refuse_action_token on action_tokens`);
  });

  it('when someone registers, then no account is left behind and no mail is sent', async () => {
    const email = 'half-made@example.com';
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email, password: PASSWORD },
    });
    expect(response.statusCode).toBe(500);
    expect(await t.app.db.select().from(users).where(eq(users.email, email))).toEqual([]);
    expect(await mailsTo(email)).toBe(0);
  });

  it('when a user changes their email, then the old address stays', async () => {
    const owner = await createUser(t.app);
    const response = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: owner.headers,
      payload: { email: 'moved@example.com' },
    });
    expect(response.statusCode).toBe(500);
    const [stored] = await t.app.db.select().from(users).where(eq(users.id, owner.user.id));
    expect(stored?.email).toBe(owner.user.email);
    expect(await mailsTo('moved@example.com')).toBe(0);
  });
});

describe('when storing the verification token succeeds', () => {
  it('when someone registers, then the account, its token and the mail all exist', async () => {
    const email = 'whole@example.com';
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email, password: PASSWORD },
    });
    expect(response.statusCode).toBe(201);
    const [user] = await t.app.db.select().from(users).where(eq(users.email, email));
    expect(user).toBeDefined();
    const tokens = await t.app.db.execute(
      sql`select count(*)::int as n from action_tokens where user_id = ${user?.id ?? null}`,
    );
    expect(resultRows(tokens)).toEqual([{ n: 1 }]);
    expect(await mailsTo(email)).toBe(1);
  });
});
