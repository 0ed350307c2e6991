-- Each task keeps its public JSON (`TaskPublicSchema`'s fields, order and formats) beside its
-- columns, written by a trigger on every insert and update, so a list page is the text of its
-- rows joined: the page statement reads one column instead of formatting twenty on every read.
-- A change to `TaskPublicSchema` replaces this function and rewrites the column in a migration.
ALTER TABLE "tasks" ADD COLUMN "public_json" text;--> statement-breakpoint
-- Floats print as JavaScript prints them only with extra_float_digits > 0 (shortest exact), so the
-- function pins it whatever the writer's session says. A position PostgreSQL would still print
-- otherwise (an exponent, -0) leaves the column null, and its page is serialised the ordinary way.
CREATE FUNCTION tasks_public_json() RETURNS trigger LANGUAGE plpgsql SET extra_float_digits = 1 AS $$
BEGIN
  IF NEW.position::text ~ '[eIN]' OR NEW.position::text = '-0' THEN
    NEW.public_json := NULL;
    RETURN NEW;
  END IF;
  SELECT row_to_json(x)::text INTO NEW.public_json FROM (
    SELECT NEW.id AS id, NEW.project_id AS project_id, NEW.parent_id AS parent_id,
      NEW.title AS title, NEW.description AS description, NEW.status AS status,
      NEW.priority AS priority, NEW.labels AS labels, NEW.assignee_id AS assignee_id,
      to_char(NEW.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS due_at,
      to_char(NEW.remind_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS remind_at,
      NEW.recurrence AS recurrence, NEW.timezone AS timezone, NEW.series_id AS series_id,
      to_char(NEW.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS completed_at,
      NEW.position AS position, NEW.created_by AS created_by,
      to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
      to_char(NEW.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at,
      NEW.version AS version
  ) x;
  RETURN NEW;
END $$;
--> statement-breakpoint
-- Every write, including the foreign keys' own (a deleted assignee or author is set null).
CREATE TRIGGER tasks_public_json BEFORE INSERT OR UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION tasks_public_json();
--> statement-breakpoint
-- The existing tasks get theirs from the trigger.
UPDATE tasks SET public_json = NULL;
