import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { createValidators } from '../../src/lib/ajv.js';
import { EventSchema } from '../../src/modules/activity/events.schemas.js';

const MIGRATIONS = 'src/db/migrations';
const validateEvent = createValidators().body.compile(EventSchema);

/** A copy of the migrations that stops before the typed events. */
function migrationsBefore(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'docket-migrations-'));
  cpSync(MIGRATIONS, dir, { recursive: true });
  const journalPath = join(dir, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as {
    entries: { idx: number; tag: string }[];
  };
  const cut = journal.entries.findIndex((entry) => entry.tag === tag);
  expect(cut).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, cut);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

const ids = {
  user: '01900000-0000-7000-8000-000000000001',
  gone: '01900000-0000-7000-8000-000000000002',
  project: '01900000-0000-7000-8000-000000000010',
  other: '01900000-0000-7000-8000-000000000011',
  deletedProject: '01900000-0000-7000-8000-000000000012',
  task: '01900000-0000-7000-8000-000000000020',
  deletedTask: '01900000-0000-7000-8000-000000000021',
  comment: '01900000-0000-7000-8000-000000000030',
  deletedComment: '01900000-0000-7000-8000-000000000031',
};

// Event rows exactly as the writers before the typed union stored them.
const OLD_EVENTS: [string, string, string, object][] = [
  ['project.created', ids.project, ids.project, { name: 'Old' }],
  ['project.updated', ids.project, ids.project, { changes: { name: 'Older' } }],
  ['project.created', ids.deletedProject, ids.deletedProject, { name: 'Gone' }],
  ['project.deleted', ids.deletedProject, ids.deletedProject, { name: 'Gone' }],
  ['member.added', ids.project, ids.user, { role: 'owner' }],
  ['member.added', ids.project, ids.gone, { role: 'viewer' }],
  ['member.updated', ids.project, ids.gone, { role: 'editor', previous_role: 'viewer' }],
  ['member.removed', ids.project, ids.gone, { role: 'editor' }],
  [
    'task.created',
    ids.project,
    ids.task,
    {
      task: {
        id: ids.task,
        project_id: ids.project,
        parent_id: null,
        title: 'first title',
        description: '',
        status: 'todo',
        priority: 'none',
        labels: [],
        assignee_id: null,
        due_at: null,
        remind_at: null,
        completed_at: null,
        position: 1,
        created_by: ids.user,
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-01T00:00:00.000Z',
        version: 1,
      },
    },
  ],
  ['task.updated', ids.project, ids.task, { changes: { title: 'second title' } }],
  [
    'task.updated',
    ids.other,
    ids.task,
    { changes: { project_id: ids.other }, from_project_id: ids.project },
  ],
  ['task.updated', ids.project, ids.deletedTask, { changes: { priority: 'high' } }],
  ['task.deleted', ids.project, ids.deletedTask, { title: 'x', subtask_ids: [] }],
  ['comment.created', ids.project, ids.comment, { task_id: ids.task, body: 'old words' }],
  ['comment.updated', ids.project, ids.comment, { task_id: ids.task, body: 'new words' }],
  ['comment.created', ids.project, ids.deletedComment, { task_id: ids.task, body: 'gone words' }],
  ['comment.deleted', ids.project, ids.deletedComment, { task_id: ids.task }],
];

describe('the typed-events migration on PGlite', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('when events of the old shapes exist, then after migrating every one matches the Event schema', async () => {
    const before = migrationsBefore('0005_typed_events');
    dirs.push(before);
    const client = await PGlite.create({ extensions: { btree_gin } });
    try {
      const db = drizzle({ client });
      await migrate(db, { migrationsFolder: before });
      await client.query(
        `insert into users (id, email, password_hash, full_name) values ($1, 'old@example.com', 'x', 'Old User')`,
        [ids.user],
      );
      await client.query(`insert into projects (id, name, created_by) values ($1, 'Older', $2)`, [
        ids.project,
        ids.user,
      ]);
      await client.query(`insert into projects (id, name, created_by) values ($1, 'Other', $2)`, [
        ids.other,
        ids.user,
      ]);
      await client.query(
        `insert into project_members (project_id, user_id, role) values ($1, $2, 'owner')`,
        [ids.project, ids.user],
      );
      await client.query(
        `insert into tasks (id, project_id, title, created_by) values ($1, $2, 'second title', $3)`,
        [ids.task, ids.other, ids.user],
      );
      await client.query(
        `insert into comments (id, task_id, author_id, body, version) values ($1, $2, $3, 'new words', 2)`,
        [ids.comment, ids.task, ids.user],
      );
      for (const [index, [type, projectId, entityId, data]] of OLD_EVENTS.entries()) {
        await client.query(
          `insert into events (id, type, project_id, actor_id, entity_id, data)
           values ($1, $2, $3, $4, $5, $6)`,
          [
            `01900000-0000-7000-8000-1000000000${String(index).padStart(2, '0')}`,
            type,
            projectId,
            ids.user,
            entityId,
            JSON.stringify(data),
          ],
        );
      }

      await migrate(db, { migrationsFolder: MIGRATIONS });

      const { rows } = await client.query<{
        id: string;
        type: string;
        project_id: string;
        actor_id: string;
        entity_id: string;
        data: Record<string, unknown>;
        created_at: Date;
        txid: string;
      }>(`select *, txid::text as txid from events order by seq`);
      expect(rows).toHaveLength(OLD_EVENTS.length);
      for (const row of rows) {
        const event = {
          id: row.id,
          type: row.type,
          project_id: row.project_id,
          actor_id: row.actor_id,
          entity_id: row.entity_id,
          data: row.data,
          created_at: row.created_at.toISOString(),
        };
        expect(
          validateEvent(event),
          `${JSON.stringify(event)} ${JSON.stringify(validateEvent.errors)}`,
        ).toBe(true);
        expect(BigInt(row.txid)).toBeGreaterThan(0n);
      }
      const types = rows.map((row) => row.type);
      expect(types).toContain('task.moved');
      const text = JSON.stringify(rows.map((row) => row.data));
      expect(text).not.toContain('old words');
      expect(text).not.toContain('gone words');
      expect(text).toContain('new words');
      expect(rows.find((row) => row.type === 'project.updated')?.data).toMatchObject({
        name: 'Older',
        archived: false,
      });
      expect(rows.find((row) => row.type === 'member.updated')?.data).toMatchObject({
        user_id: ids.gone,
        role: 'editor',
      });
    } finally {
      await client.close();
    }
  }, 120_000);
});
