import { and, eq, sql } from 'drizzle-orm';
import { projectMembers, tasks } from '../../db/schema/index.js';

/**
 * The caller (placeholder `userId`) as a member of the task's project, and the task by id
 * (placeholder `taskId`): the join and the filter of every prepared lookup of one task.
 */
export const callerIsMember = and(
  eq(projectMembers.projectId, tasks.projectId),
  eq(projectMembers.userId, sql.placeholder('userId')),
);
export const taskById = eq(tasks.id, sql.placeholder('taskId'));
