DROP INDEX "comments_task_idx";--> statement-breakpoint
CREATE INDEX "comments_task_idx" ON "comments" USING btree ("task_id","id");