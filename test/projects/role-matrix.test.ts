import { beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../helpers/factories.js';
import { useTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import {
  addMember,
  createProject,
  createProjectWithRoles,
  createTask,
  type ProjectFixture,
} from '../helpers/projects.js';

const t = useTestApp();

type RoleName = 'owner' | 'admin' | 'editor' | 'viewer' | 'outsider';
const ROLE_NAMES: RoleName[] = ['owner', 'admin', 'editor', 'viewer', 'outsider'];

interface Case {
  name: string;
  /** Expected status per role. */
  expect: Record<RoleName, number>;
  /** Builds the request; runs after a fresh fixture so destructive cases don't interfere. */
  request: (
    f: ProjectFixture,
    ctx: Context,
  ) => Promise<{ method: string; url: string; payload?: unknown }>;
}

interface Context {
  taskId: string;
  commentId: string;
  editorCommentId: string;
  otherProjectId: string;
  otherTaskId: string;
}

const READ = { owner: 200, admin: 200, editor: 200, viewer: 200, outsider: 404 };
const WRITE_TASK = { owner: 200, admin: 200, editor: 200, viewer: 403, outsider: 404 };
const CREATE_TASK = { owner: 201, admin: 201, editor: 201, viewer: 403, outsider: 404 };
const ADMIN = { owner: 200, admin: 200, editor: 403, viewer: 403, outsider: 404 };

const cases: Case[] = [
  {
    name: 'GET project',
    expect: READ,
    request: async (f) => ({ method: 'GET', url: `/api/v1/projects/${f.projectId}` }),
  },
  {
    name: 'PATCH project',
    expect: ADMIN,
    request: async (f) => ({
      method: 'PATCH',
      url: `/api/v1/projects/${f.projectId}`,
      payload: { name: 'Renamed' },
    }),
  },
  {
    name: 'DELETE project',
    expect: { owner: 204, admin: 403, editor: 403, viewer: 403, outsider: 404 },
    request: async (f) => ({ method: 'DELETE', url: `/api/v1/projects/${f.projectId}` }),
  },
  {
    name: 'GET members',
    expect: READ,
    request: async (f) => ({ method: 'GET', url: `/api/v1/projects/${f.projectId}/members` }),
  },
  {
    name: 'POST member (editor role)',
    expect: { owner: 201, admin: 201, editor: 403, viewer: 403, outsider: 404 },
    request: async (f) => {
      const newcomer = await createUser(t.app);
      return {
        method: 'POST',
        url: `/api/v1/projects/${f.projectId}/members`,
        payload: { email: newcomer.user.email, role: 'editor' },
      };
    },
  },
  {
    name: 'POST member (owner role)',
    expect: { owner: 201, admin: 403, editor: 403, viewer: 403, outsider: 404 },
    request: async (f) => {
      const newcomer = await createUser(t.app);
      return {
        method: 'POST',
        url: `/api/v1/projects/${f.projectId}/members`,
        payload: { email: newcomer.user.email, role: 'owner' },
      };
    },
  },
  {
    name: 'PATCH viewer to editor',
    expect: ADMIN,
    request: async (f) => ({
      method: 'PATCH',
      url: `/api/v1/projects/${f.projectId}/members/${f.viewer.user.id}`,
      payload: { role: 'editor' },
    }),
  },
  {
    name: 'DELETE editor member',
    expect: { owner: 204, admin: 204, editor: 204, viewer: 403, outsider: 404 },
    request: async (f) => ({
      method: 'DELETE',
      url: `/api/v1/projects/${f.projectId}/members/${f.editor.user.id}`,
    }),
  },
  {
    name: 'GET activity',
    expect: READ,
    request: async (f) => ({ method: 'GET', url: `/api/v1/projects/${f.projectId}/activity` }),
  },
  {
    name: 'GET project tasks',
    expect: READ,
    request: async (f) => ({ method: 'GET', url: `/api/v1/projects/${f.projectId}/tasks` }),
  },
  {
    name: 'POST task',
    expect: CREATE_TASK,
    request: async (f) => ({
      method: 'POST',
      url: `/api/v1/projects/${f.projectId}/tasks`,
      payload: { title: 'x' },
    }),
  },
  {
    name: 'GET task',
    expect: READ,
    request: async (_f, c) => ({ method: 'GET', url: `/api/v1/tasks/${c.taskId}` }),
  },
  {
    name: 'PATCH task',
    expect: WRITE_TASK,
    request: async (_f, c) => ({
      method: 'PATCH',
      url: `/api/v1/tasks/${c.taskId}`,
      payload: { title: 'y' },
    }),
  },
  {
    name: 'DELETE task',
    expect: { owner: 204, admin: 204, editor: 204, viewer: 403, outsider: 404 },
    request: async (_f, c) => ({ method: 'DELETE', url: `/api/v1/tasks/${c.taskId}` }),
  },
  {
    name: 'GET comments',
    expect: READ,
    request: async (_f, c) => ({ method: 'GET', url: `/api/v1/tasks/${c.taskId}/comments` }),
  },
  {
    name: 'POST comment',
    expect: CREATE_TASK,
    request: async (_f, c) => ({
      method: 'POST',
      url: `/api/v1/tasks/${c.taskId}/comments`,
      payload: { body: 'hi' },
    }),
  },
  {
    name: "PATCH the owner's comment",
    expect: { owner: 200, admin: 403, editor: 403, viewer: 403, outsider: 404 },
    request: async (_f, c) => ({
      method: 'PATCH',
      url: `/api/v1/comments/${c.commentId}`,
      payload: { body: 'edited' },
    }),
  },
  {
    name: "DELETE the editor's comment",
    expect: { owner: 204, admin: 204, editor: 204, viewer: 403, outsider: 404 },
    request: async (_f, c) => ({ method: 'DELETE', url: `/api/v1/comments/${c.editorCommentId}` }),
  },
  // Ids smuggled in bodies and queries: a project or task the caller cannot see is 404.
  {
    name: 'GET /tasks?project_id=<project>',
    expect: READ,
    request: async (f) => ({ method: 'GET', url: `/api/v1/tasks?project_id=${f.projectId}` }),
  },
  {
    name: 'POST task with a parent from an unseen project',
    expect: { owner: 404, admin: 404, editor: 404, viewer: 403, outsider: 404 },
    request: async (f, c) => ({
      method: 'POST',
      url: `/api/v1/projects/${f.projectId}/tasks`,
      payload: { title: 'x', parent_id: c.otherTaskId },
    }),
  },
  {
    name: 'PATCH task into an unseen project',
    expect: { owner: 404, admin: 404, editor: 404, viewer: 403, outsider: 404 },
    request: async (_f, c) => ({
      method: 'PATCH',
      url: `/api/v1/tasks/${c.taskId}`,
      payload: { project_id: c.otherProjectId },
    }),
  },
  {
    name: 'GET /tasks?project_id=<unseen project>',
    expect: { owner: 404, admin: 404, editor: 404, viewer: 404, outsider: 404 },
    request: async (_f, c) => ({
      method: 'GET',
      url: `/api/v1/tasks?project_id=${c.otherProjectId}`,
    }),
  },
];

let stranger: TestUser;
beforeAll(async () => {
  stranger = await createUser(t.app);
});

async function context(f: ProjectFixture): Promise<Context> {
  const task = await createTask(t.app, f.projectId, f.owner);
  const comment = await t.app.inject({
    method: 'POST',
    url: `/api/v1/tasks/${task.id}/comments`,
    headers: f.owner.headers,
    payload: { body: 'by owner' },
  });
  const editorComment = await t.app.inject({
    method: 'POST',
    url: `/api/v1/tasks/${task.id}/comments`,
    headers: f.editor.headers,
    payload: { body: 'by editor' },
  });
  const otherProjectId = await createProject(t.app, stranger);
  const otherTask = await createTask(t.app, otherProjectId, stranger);
  return {
    taskId: task.id,
    commentId: comment.json<{ id: string }>().id,
    editorCommentId: editorComment.json<{ id: string }>().id,
    otherProjectId,
    otherTaskId: otherTask.id,
  };
}

describe('role matrix', () => {
  for (const testCase of cases) {
    it(`${testCase.name}: owner/admin/editor/viewer/outsider`, async () => {
      const got: Record<string, number> = {};
      for (const role of ROLE_NAMES) {
        const f = await createProjectWithRoles(t.app);
        const request = await testCase.request(f, await context(f));
        const response = await t.app.inject({
          ...request,
          payload: request.payload as object | undefined,
          headers: f[role].headers,
        } as never);
        got[role] = response.statusCode;
      }
      expect(got).toEqual(testCase.expect);
    });
  }

  it('when there is no token, then every route is 401', async () => {
    const f = await createProjectWithRoles(t.app);
    const c = await context(f);
    for (const testCase of cases) {
      const request = await testCase.request(f, c);
      const response = await t.app.inject({
        ...request,
        payload: request.payload as object | undefined,
      } as never);
      expect(response.statusCode, testCase.name).toBe(401);
    }
  });

  it('when an editor adds a member, then the project stays unchanged', async () => {
    const f = await createProjectWithRoles(t.app);
    await addMember(t.app, f.projectId, f.admin, stranger, 'viewer');
    const members = await t.app.inject({
      url: `/api/v1/projects/${f.projectId}/members`,
      headers: f.viewer.headers,
    });
    expect(members.json<{ items: unknown[] }>().items).toHaveLength(5);
  });
});
