-- Change versions move out of the wide `projects` rows into a narrow table of their own: a bump
-- rewrites a 40-byte row in place (a heap-only update, with room left on each page for it), and
-- the digest of a user's projects that cross-project list tags are built from reads a few pages
-- instead of every `projects` row. Same triggers, same rule: a version moves in the same
-- transaction as any change to what its project's lists show.
CREATE TABLE "project_versions" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"change_version" bigint DEFAULT 1 NOT NULL
) WITH (fillfactor = 50);
--> statement-breakpoint
ALTER TABLE "project_versions" ADD CONSTRAINT "project_versions_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
INSERT INTO "project_versions" ("project_id", "change_version") SELECT "id", "change_version" FROM "projects";--> statement-breakpoint
DROP TRIGGER projects_change_version ON projects;--> statement-breakpoint
DROP FUNCTION project_versions_of_project();--> statement-breakpoint
CREATE OR REPLACE FUNCTION bump_project_versions(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  IF cardinality(ids) > 1 THEN
    -- Locked in id order, so two transactions touching the same projects cannot deadlock here.
    PERFORM 1 FROM project_versions WHERE project_id = ANY(ids) ORDER BY project_id FOR NO KEY UPDATE;
  END IF;
  -- A project deleted in this transaction has no row left: nothing to bump.
  UPDATE project_versions SET change_version = change_version + 1 WHERE project_id = ANY(ids);
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_new_projects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO project_versions (project_id) SELECT id FROM new_rows;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION project_versions_of_changed_projects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_project_versions(ARRAY(SELECT id FROM new_rows));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER projects_insert_project_version AFTER INSERT ON projects
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_new_projects();
--> statement-breakpoint
CREATE TRIGGER projects_update_project_version AFTER UPDATE ON projects
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION project_versions_of_changed_projects();
--> statement-breakpoint
ALTER TABLE "projects" DROP COLUMN "change_version";
