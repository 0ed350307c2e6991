-- Tasks gained recurrence, timezone and series_id (0007). Events written before carry the task
-- as it was shown then, without them; they are added as null (what those tasks had), so every
-- kept event matches the Event schema that streams, webhooks and the activity list serve.
-- Keys already present are kept: the right operand of || wins.
UPDATE "events"
SET "data" = jsonb_build_object('recurrence', null, 'timezone', null, 'series_id', null) || "data"
WHERE "type" IN ('task.created', 'task.updated', 'task.completed', 'task.reminder')
  AND NOT ("data" ? 'series_id');
--> statement-breakpoint
UPDATE "events"
SET "data" = jsonb_set(
  "data",
  '{task}',
  jsonb_build_object('recurrence', null, 'timezone', null, 'series_id', null) || ("data" -> 'task')
)
WHERE "type" = 'task.moved'
  AND jsonb_typeof("data" -> 'task') = 'object'
  AND NOT (("data" -> 'task') ? 'series_id');
