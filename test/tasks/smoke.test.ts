import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { createProjectWithRoles, createTask } from '../helpers/projects.js';

const t = useTestApp();

describe('tasks smoke', () => {
  it('works end to end', async () => {
    const f = await createProjectWithRoles(t.app);
    const task = await createTask(t.app, f.projectId, f.editor, {
      labels: ['a', 'b'],
      status: 'done',
      due_at: '2026-12-01T10:00:00.000Z',
    });
    expect(task.completed_at).not.toBeNull();
    const get = await t.app.inject({ url: `/api/v1/tasks/${task.id}`, headers: f.viewer.headers });
    expect(get.statusCode, get.body).toBe(200);
    const list = await t.app.inject({
      url: `/api/v1/projects/${f.projectId}/tasks?label=a&status=done&status=todo`,
      headers: f.viewer.headers,
    });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().items).toHaveLength(1);
    const all = await t.app.inject({
      url: `/api/v1/tasks?q=task&sort=-due_at`,
      headers: f.viewer.headers,
    });
    expect(all.statusCode, all.body).toBe(200);
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/tasks/${task.id}`,
      headers: { ...f.editor.headers, 'if-match': '"v1"' },
      payload: { status: 'todo' },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json().completed_at).toBeNull();
    const c = await t.app.inject({
      method: 'POST',
      url: `/api/v1/tasks/${task.id}/comments`,
      headers: f.editor.headers,
      payload: { body: 'hi' },
    });
    expect(c.statusCode, c.body).toBe(201);
    const act = await t.app.inject({
      url: `/api/v1/projects/${f.projectId}/activity`,
      headers: f.viewer.headers,
    });
    expect(act.statusCode, act.body).toBe(200);
    expect(act.json().items.map((e: { type: string }) => e.type)).toContain('comment.created');
  });
});
