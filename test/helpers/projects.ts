import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { TestUser } from './factories.js';
import { createUser } from './factories.js';

export interface ProjectFixture {
  projectId: string;
  owner: TestUser;
  admin: TestUser;
  editor: TestUser;
  viewer: TestUser;
  outsider: TestUser;
}

export async function createProject(
  app: App,
  owner: TestUser,
  body: Record<string, unknown> = {},
): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/projects',
    headers: owner.headers,
    payload: { name: 'Project', ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string }>().id;
}

export async function addMember(
  app: App,
  projectId: string,
  by: TestUser,
  user: TestUser,
  role: string,
): Promise<void> {
  const response = await app.inject({
    method: 'POST',
    url: `/api/v1/projects/${projectId}/members`,
    headers: by.headers,
    payload: { email: user.user.email, role },
  });
  expect(response.statusCode, response.body).toBe(201);
}

/** A project with one member of every role, and a user who is not a member. */
export async function createProjectWithRoles(app: App): Promise<ProjectFixture> {
  const [owner, admin, editor, viewer, outsider] = await Promise.all(
    [0, 1, 2, 3, 4].map(() => createUser(app)),
  );
  if (!owner || !admin || !editor || !viewer || !outsider) throw new Error('users not created');
  const projectId = await createProject(app, owner);
  await addMember(app, projectId, owner, admin, 'admin');
  await addMember(app, projectId, owner, editor, 'editor');
  await addMember(app, projectId, owner, viewer, 'viewer');
  return { projectId, owner, admin, editor, viewer, outsider };
}

export async function createTask(
  app: App,
  projectId: string,
  by: TestUser,
  body: Record<string, unknown> = {},
): Promise<Record<string, unknown> & { id: string; version: number }> {
  const response = await app.inject({
    method: 'POST',
    url: `/api/v1/projects/${projectId}/tasks`,
    headers: by.headers,
    payload: { title: 'A task', ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}
