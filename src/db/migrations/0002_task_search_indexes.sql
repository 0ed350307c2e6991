CREATE EXTENSION IF NOT EXISTS btree_gin;--> statement-breakpoint
CREATE INDEX "tasks_project_labels_idx" ON "tasks" USING gin ("project_id","labels");--> statement-breakpoint
CREATE INDEX "tasks_project_search_idx" ON "tasks" USING gin ("project_id","search");--> statement-breakpoint
CREATE INDEX "tasks_created_idx" ON "tasks" USING btree ("created_at","id");