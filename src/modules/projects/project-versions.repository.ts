import { and, eq, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { projectMembers, projectVersions, tasks } from '../../db/schema/index.js';
import { callerIsMember, taskById } from '../tasks/task-lookup.js';

/**
 * The caller's role in a project and the project's change version, in one indexed lookup:
 * what a project-scoped list needs before it decides whether to run its query at all.
 */
export function prepareFindRoleAndVersion(db: Database) {
  return db
    .select({ role: projectMembers.role, changeVersion: projectVersions.changeVersion })
    .from(projectMembers)
    .innerJoin(projectVersions, eq(projectVersions.projectId, projectMembers.projectId))
    .where(
      and(
        eq(projectMembers.projectId, sql.placeholder('projectId')),
        eq(projectMembers.userId, sql.placeholder('userId')),
      ),
    )
    .limit(1)
    .prepare('project_role_and_version');
}

/**
 * One digest of the id and change version of every project the user is a member of: it moves
 * when any of them changes and when the set itself does (joining, leaving, a deleted project).
 * Order-free aggregates, so no sort and no text is built: the count, the sum of the versions
 * (which only grow, so any bump raises it) and the XOR of a 64-bit hash of each (id, version)
 * pair (any change to the set or to a version changes it, but for a 2⁻⁶⁴ chance).
 */
export function memberVersionsDigest(userId: SQL | Placeholder): SQL<string> {
  return sql<string>`(select count(*) || '.' || coalesce(sum(v.change_version), 0) || '.'
      || coalesce(bit_xor(uuid_hash_extended(v.project_id, v.change_version)), 0)
    from ${projectMembers} m join ${projectVersions} v on v.project_id = m.project_id
    where m.user_id = ${userId})`;
}

export function prepareMemberVersionsDigest(db: Database) {
  return db
    .select({ digest: memberVersionsDigest(sql.placeholder('userId')) })
    .from(sql`(select 1) as one`)
    .prepare('member_projects_versions');
}

/** A task's project and its change version, with the caller's role there: a comment list's tag. */
export function prepareTaskRoleAndVersion(db: Database) {
  return db
    .select({
      projectId: tasks.projectId,
      role: projectMembers.role,
      changeVersion: projectVersions.changeVersion,
    })
    .from(tasks)
    .innerJoin(projectMembers, callerIsMember)
    .innerJoin(projectVersions, eq(projectVersions.projectId, tasks.projectId))
    .where(taskById)
    .limit(1)
    .prepare('task_role_and_version');
}
