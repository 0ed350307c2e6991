ALTER TABLE "projects" ADD COLUMN "change_version" bigint DEFAULT 1 NOT NULL;--> statement-breakpoint
-- A project's change_version moves in the same transaction as any change to what its lists show:
-- the project itself, its members, tasks, comments and events (written with every change, and
-- pruned by maintenance). List ETags are built from it, so a stale one can never match. Triggers
-- rather than application calls, so cascades (a deleted user's memberships, assignments and
-- comments) and every future writer of these tables count too. Statement-level, so a bulk change
-- bumps each project once.
CREATE FUNCTION bump_project_versions(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  IF cardinality(ids) > 1 THEN
    -- Locked in id order, so two transactions touching the same projects cannot deadlock here.
    PERFORM 1 FROM projects WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
  END IF;
  UPDATE projects SET change_version = change_version + 1 WHERE id = ANY(ids);
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_project_versions(ARRAY(
    SELECT DISTINCT project_id FROM new_rows WHERE project_id IS NOT NULL));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_old_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_project_versions(ARRAY(
    SELECT DISTINCT project_id FROM old_rows WHERE project_id IS NOT NULL));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_changed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_project_versions(ARRAY(
    SELECT project_id FROM new_rows WHERE project_id IS NOT NULL
    UNION SELECT project_id FROM old_rows WHERE project_id IS NOT NULL));
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Comments reach their project through their task; a comment deleted with its task needs no
-- bump of its own (the task's deletion bumped the project).
CREATE FUNCTION project_versions_of_new_comments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_project_versions(ARRAY(
    SELECT DISTINCT t.project_id FROM new_rows c JOIN tasks t ON t.id = c.task_id));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_old_comments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_project_versions(ARRAY(
    SELECT DISTINCT t.project_id FROM old_rows c JOIN tasks t ON t.id = c.task_id));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_changed_comments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_project_versions(ARRAY(
    SELECT t.project_id FROM new_rows c JOIN tasks t ON t.id = c.task_id
    UNION SELECT t.project_id FROM old_rows c JOIN tasks t ON t.id = c.task_id));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.change_version = OLD.change_version THEN
    NEW.change_version := OLD.change_version + 1;
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER projects_change_version BEFORE UPDATE ON projects
  FOR EACH ROW EXECUTE FUNCTION project_versions_of_project();
--> statement-breakpoint
CREATE TRIGGER tasks_insert_project_version AFTER INSERT ON tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_new_rows();
--> statement-breakpoint
CREATE TRIGGER tasks_update_project_version AFTER UPDATE ON tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_changed_rows();
--> statement-breakpoint
CREATE TRIGGER tasks_delete_project_version AFTER DELETE ON tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_old_rows();
--> statement-breakpoint
CREATE TRIGGER project_members_insert_project_version AFTER INSERT ON project_members
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_new_rows();
--> statement-breakpoint
CREATE TRIGGER project_members_update_project_version AFTER UPDATE ON project_members
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_changed_rows();
--> statement-breakpoint
CREATE TRIGGER project_members_delete_project_version AFTER DELETE ON project_members
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_old_rows();
--> statement-breakpoint
CREATE TRIGGER comments_insert_project_version AFTER INSERT ON comments
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_new_comments();
--> statement-breakpoint
CREATE TRIGGER comments_update_project_version AFTER UPDATE ON comments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_changed_comments();
--> statement-breakpoint
CREATE TRIGGER comments_delete_project_version AFTER DELETE ON comments
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_old_comments();
--> statement-breakpoint
CREATE TRIGGER events_insert_project_version AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_new_rows();
--> statement-breakpoint
CREATE TRIGGER events_delete_project_version AFTER DELETE ON events
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_old_rows();
--> statement-breakpoint
CREATE TRIGGER events_update_project_version AFTER UPDATE ON events
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_changed_rows();
