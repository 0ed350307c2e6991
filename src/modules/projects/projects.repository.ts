import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type ProjectRow, projectMembers, projects } from '../../db/schema/index.js';
import type { Role } from './roles.js';

export type ProjectWithRole = ProjectRow & { role: Role };

export type ProjectChanges = Partial<
  Pick<ProjectRow, 'name' | 'description' | 'color' | 'archived'>
>;

/** The caller's role in a project, or `null` when not a member (or no such project). */
export async function findRole(
  db: Executor,
  projectId: string,
  userId: string,
): Promise<Role | null> {
  const [row] = await db
    .select({ role: projectMembers.role })
    .from(projectMembers)
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .limit(1);
  return row?.role ?? null;
}

export async function findProjectForUser(
  db: Executor,
  projectId: string,
  userId: string,
): Promise<ProjectWithRole | null> {
  const [row] = await db
    .select({ project: projects, role: projectMembers.role })
    .from(projects)
    .innerJoin(
      projectMembers,
      and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, userId)),
    )
    .where(eq(projects.id, projectId))
    .limit(1);
  return row ? { ...row.project, role: row.role } : null;
}

export async function listProjectsForUser(
  db: Executor,
  userId: string,
  options: { archived: boolean | undefined; afterId: string | null; limit: number },
): Promise<ProjectWithRole[]> {
  const rows = await db
    .select({ project: projects, role: projectMembers.role })
    .from(projectMembers)
    .innerJoin(projects, eq(projects.id, projectMembers.projectId))
    .where(
      and(
        eq(projectMembers.userId, userId),
        options.archived === undefined ? undefined : eq(projects.archived, options.archived),
        options.afterId === null ? undefined : gt(projectMembers.projectId, options.afterId),
      ),
    )
    .orderBy(asc(projectMembers.projectId))
    .limit(options.limit + 1);
  return rows.map((row) => ({ ...row.project, role: row.role }));
}

export async function insertProject(
  tx: Executor,
  project: Pick<ProjectRow, 'id' | 'name' | 'description' | 'color' | 'createdBy'>,
): Promise<ProjectRow> {
  const [row] = await tx.insert(projects).values(project).returning();
  if (row === undefined) throw new Error('project insert returned nothing');
  return row;
}

/** Applies the changes and bumps the version atomically; `null` when the expected version is stale. */
export async function updateProject(
  tx: Executor,
  projectId: string,
  changes: ProjectChanges,
  expectedVersion: number | undefined,
): Promise<ProjectRow | null> {
  const [row] = await tx
    .update(projects)
    .set({ ...changes, version: sql`${projects.version} + 1`, updatedAt: sql`now()` })
    .where(
      and(
        eq(projects.id, projectId),
        expectedVersion === undefined ? undefined : eq(projects.version, expectedVersion),
      ),
    )
    .returning();
  return row ?? null;
}

export async function deleteProject(
  tx: Executor,
  projectId: string,
  expectedVersion: number | undefined,
): Promise<boolean> {
  const rows = await tx
    .delete(projects)
    .where(
      and(
        eq(projects.id, projectId),
        expectedVersion === undefined ? undefined : eq(projects.version, expectedVersion),
      ),
    )
    .returning({ id: projects.id });
  return rows.length > 0;
}
