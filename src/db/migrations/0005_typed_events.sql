DROP INDEX "events_project_idx";--> statement-breakpoint
DROP INDEX "events_seq_idx";--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "txid" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
CREATE INDEX "events_project_seq_idx" ON "events" USING btree ("project_id","seq");--> statement-breakpoint
CREATE INDEX "events_txid_seq_idx" ON "events" USING btree ("txid","seq");--> statement-breakpoint
CREATE INDEX "events_entity_idx" ON "events" USING btree ("entity_id");--> statement-breakpoint
-- Events written before the typed union are rewritten into its shapes, so every stored event
-- matches the documented schema. What the old rows did not record comes from the live rows
-- where they still exist, else from the event itself; comment text survives only on the latest
-- event of a comment that still exists.
CREATE FUNCTION pg_temp.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;--> statement-breakpoint
UPDATE "events" e SET "data" = jsonb_build_object(
  'id', p.id, 'name', p.name, 'description', p.description, 'color', p.color,
  'archived', p.archived, 'created_by', p.created_by, 'created_at', pg_temp.iso(p.created_at),
  'updated_at', pg_temp.iso(p.updated_at), 'version', p.version)
FROM "projects" p
WHERE p.id = e.entity_id AND e.type IN ('project.created', 'project.updated');--> statement-breakpoint
UPDATE "events" e SET "data" = jsonb_build_object(
  'id', e.entity_id, 'name', coalesce(e.data->>'name', e.data->'changes'->>'name', 'Untitled'),
  'description', '', 'color', NULL, 'archived', false, 'created_by', e.actor_id,
  'created_at', pg_temp.iso(e.created_at), 'updated_at', pg_temp.iso(e.created_at), 'version', 1)
WHERE e.type IN ('project.created', 'project.updated') AND NOT (e.data ? 'archived');--> statement-breakpoint
UPDATE "events" SET "data" = jsonb_build_object('id', entity_id, 'name', coalesce(data->>'name', ''))
  || CASE WHEN data->>'reason' = 'account_deleted' THEN '{"reason": "account_deleted"}'::jsonb
          ELSE '{}'::jsonb END
WHERE type = 'project.deleted';--> statement-breakpoint
UPDATE "events" e SET "data" = x.data
FROM (
  SELECT e2.id, jsonb_build_object(
    'user_id', e2.entity_id, 'email', coalesce(u.email, ''), 'full_name', u.full_name,
    'role', coalesce(e2.data->>'role', 'viewer'),
    'created_at', pg_temp.iso(coalesce(m.created_at, e2.created_at)),
    'updated_at', pg_temp.iso(coalesce(m.updated_at, e2.created_at))) AS data
  FROM "events" e2
  LEFT JOIN "users" u ON u.id = e2.entity_id
  LEFT JOIN "project_members" m ON m.project_id = e2.project_id AND m.user_id = e2.entity_id
  WHERE e2.type IN ('member.added', 'member.updated')
) x
WHERE x.id = e.id;--> statement-breakpoint
UPDATE "events" SET "data" = jsonb_build_object('user_id', entity_id)
WHERE type = 'member.removed';--> statement-breakpoint
UPDATE "events" SET "data" = "data"->'task'
WHERE type = 'task.created' AND "data" ? 'task';--> statement-breakpoint
CREATE FUNCTION pg_temp.task_after(e "events") RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
      'id', e.entity_id, 'project_id', e.project_id, 'parent_id', NULL, 'title', 'Untitled',
      'description', '', 'status', 'todo', 'priority', 'none', 'labels', '[]'::jsonb,
      'assignee_id', NULL, 'due_at', NULL, 'remind_at', NULL, 'completed_at', NULL,
      'position', 0, 'created_by', e.actor_id, 'created_at', pg_temp.iso(e.created_at),
      'updated_at', pg_temp.iso(e.created_at), 'version', 1)
    || coalesce((SELECT c.data FROM "events" c
                 WHERE c.entity_id = e.entity_id AND c.type = 'task.created' LIMIT 1), '{}'::jsonb)
    || coalesce(e.data->'changes', '{}'::jsonb)
    || jsonb_build_object('id', e.entity_id, 'project_id', e.project_id,
                          'updated_at', pg_temp.iso(e.created_at))
$$;--> statement-breakpoint
UPDATE "events" e SET "type" = 'task.moved', "data" = jsonb_build_object(
  'id', e.entity_id, 'from_project_id', e.data->>'from_project_id', 'to_project_id', e.project_id,
  'task', pg_temp.task_after(e))
WHERE e.type = 'task.updated' AND e.data ? 'from_project_id';--> statement-breakpoint
UPDATE "events" e SET "data" = pg_temp.task_after(e)
WHERE e.type = 'task.updated' AND e.data ? 'changes';--> statement-breakpoint
UPDATE "events" SET "data" = jsonb_build_object(
  'id', entity_id, 'subtask_ids', coalesce("data"->'subtask_ids', '[]'::jsonb))
WHERE type = 'task.deleted';--> statement-breakpoint
UPDATE "events" e SET "data" = jsonb_build_object(
  'id', e.entity_id, 'task_id', e.data->>'task_id', 'author_id', x.author_id,
  'body', CASE WHEN x.is_latest AND x.alive THEN e.data->>'body' END,
  'created_at', pg_temp.iso(x.first_at), 'updated_at', pg_temp.iso(e.created_at),
  'version', x.version)
FROM (
  SELECT id,
    row_number() OVER w AS version,
    first_value(actor_id) OVER w AS author_id,
    first_value(created_at) OVER w AS first_at,
    seq = max(seq) OVER (PARTITION BY entity_id) AS is_latest,
    EXISTS (SELECT 1 FROM "comments" c WHERE c.id = entity_id) AS alive
  FROM "events"
  WHERE type IN ('comment.created', 'comment.updated')
  WINDOW w AS (PARTITION BY entity_id ORDER BY seq)
) x
WHERE x.id = e.id AND NOT (e.data ? 'version');--> statement-breakpoint
UPDATE "events" SET "data" = jsonb_build_object('id', entity_id, 'task_id', "data"->>'task_id')
WHERE type = 'comment.deleted';
