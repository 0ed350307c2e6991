import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, projectMembers, projects, tasks, users } from '../../src/db/schema/index.js';
import type { AuthContext } from '../../src/plugins/auth.js';
import { createTestServices, ManualClock, type TestServices } from '../helpers/test-services.js';

const START = new Date('2030-01-01T09:00:00.000Z');
const HOUR = 60 * 60 * 1000;

describe('services built by createServices, used without HTTP', () => {
  const clock = new ManualClock(START);
  let t: TestServices;

  beforeAll(async () => {
    t = await createTestServices({ clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('when a user registers and creates a project, then the user, owner membership and event are stored', async () => {
    const user = await t.services.auth.register({
      email: ' Ada@Example.com ',
      password: 'correct horse battery staple',
      full_name: 'Ada',
    });
    const project = await t.services.projects.create(user.id, { name: 'Launch' });

    expect(project).toMatchObject({ name: 'Launch', role: 'owner', createdBy: user.id });
    const [stored] = await t.db.select().from(users).where(eq(users.id, user.id));
    expect(stored).toMatchObject({ email: 'ada@example.com', fullName: 'Ada', isSuperuser: false });
    expect(await t.db.select().from(projects).where(eq(projects.id, project.id))).toHaveLength(1);
    expect(
      await t.db
        .select({ userId: projectMembers.userId, role: projectMembers.role })
        .from(projectMembers)
        .where(eq(projectMembers.projectId, project.id)),
    ).toEqual([{ userId: user.id, role: 'owner' }]);
    expect(
      await t.db
        .select({ type: events.type, actorId: events.actorId })
        .from(events)
        .where(eq(events.projectId, project.id)),
    ).toEqual([{ type: 'project.created', actorId: user.id }]);
  });

  it('when a task is created done, then it is completed at the injected clock time', async () => {
    const user = await t.services.auth.register({
      email: 'grace@example.com',
      password: 'correct horse battery staple',
    });
    const project = await t.services.projects.create(user.id, { name: 'Compilers' });
    const task = await t.services.tasks.create(user.id, project.id, {
      title: 'Write the first one',
      status: 'done',
    });

    const [stored] = await t.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(stored?.completedAt?.toISOString()).toBe(START.toISOString());
  });

  it('when the clock passes a personal token’s expiry, then the authenticator refuses it', async () => {
    const user = await t.services.auth.register({
      email: 'linus@example.com',
      password: 'correct horse battery staple',
    });
    const caller: AuthContext = {
      userId: user.id,
      isSuperuser: false,
      sessionId: null,
      tokenId: null,
      scopes: new Set(['read', 'write']),
    };
    const expiresAt = new Date(clock.now().getTime() + HOUR);
    const created = await t.services.users.createToken(caller, {
      name: 'ci',
      scopes: ['read'],
      expires_at: expiresAt.toISOString(),
    });

    const live = await t.services.authenticator.resolve(created.token);
    expect(live).toMatchObject({ userId: user.id, tokenId: created.id, sessionId: null });
    expect([...(live?.scopes ?? [])]).toEqual(['read']);

    clock.advance(2 * HOUR);
    expect(await t.services.authenticator.resolve(created.token)).toBeNull();
  });
});
