import type { Database } from '../../db/client.js';
import { AppError } from '../../lib/errors.js';
import { preconditionFailed } from '../../lib/etag.js';
import { newId } from '../../lib/ids.js';
import { cursorUuid, decodeCursor, encodeCursor, type Page, toPage } from '../../lib/pagination.js';
import { insertEvent } from '../activity/events.repository.js';
import { insertMember } from './members.repository.js';
import {
  deleteProject,
  findProjectForUser,
  insertProject,
  listProjectsForUser,
  type ProjectChanges,
  type ProjectWithRole,
  updateProject,
} from './projects.repository.js';
import type {
  ProjectCreate,
  ProjectListQuery,
  ProjectPublic,
  ProjectUpdate,
} from './projects.schemas.js';
import { requireRole } from './roles.js';

export function toProjectPublic(project: ProjectWithRole): ProjectPublic {
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    color: project.color,
    archived: project.archived,
    role: project.role,
    created_by: project.createdBy,
    created_at: project.createdAt.toISOString(),
    updated_at: project.updatedAt.toISOString(),
    version: project.version,
  };
}

export class ProjectsService {
  private readonly db: Database;

  constructor({ db }: { db: Database }) {
    this.db = db;
  }

  async create(userId: string, input: ProjectCreate): Promise<ProjectWithRole> {
    return this.db.transaction(async (tx) => {
      const project = await insertProject(tx, {
        id: newId(),
        name: input.name,
        description: input.description ?? '',
        color: input.color ?? null,
        createdBy: userId,
      });
      await insertMember(tx, { projectId: project.id, userId, role: 'owner' });
      await insertEvent(tx, {
        type: 'project.created',
        projectId: project.id,
        actorId: userId,
        entityId: project.id,
        data: { name: project.name },
      });
      return { ...project, role: 'owner' as const };
    });
  }

  async get(userId: string, projectId: string): Promise<ProjectWithRole> {
    const project = await findProjectForUser(this.db, projectId, userId);
    if (project === null) throw new AppError('project_not_found');
    return project;
  }

  async list(userId: string, query: ProjectListQuery): Promise<Page<ProjectPublic>> {
    const limit = query.limit ?? 50;
    const afterId =
      query.cursor === undefined ? null : cursorUuid(decodeCursor('projects', query.cursor)[0]);
    const rows = await listProjectsForUser(this.db, userId, {
      archived: query.archived,
      afterId,
      limit,
    });
    return toPage(rows, limit, toProjectPublic, (row) => encodeCursor('projects', [row.id]));
  }

  async update(
    userId: string,
    projectId: string,
    input: ProjectUpdate,
    expectedVersion: number | undefined,
  ): Promise<ProjectWithRole> {
    return this.db.transaction(async (tx) => {
      const current = await findProjectForUser(tx, projectId, userId);
      const role = requireRole(
        current?.role ?? null,
        'admin',
        'project_not_found',
        'change the project',
      );
      const changes: ProjectChanges = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.description !== undefined) changes.description = input.description;
      if (input.color !== undefined) changes.color = input.color;
      if (input.archived !== undefined) changes.archived = input.archived;
      const updated = await updateProject(tx, projectId, changes, expectedVersion);
      if (updated === null) throw preconditionFailed();
      await insertEvent(tx, {
        type: 'project.updated',
        projectId,
        actorId: userId,
        entityId: projectId,
        data: { changes: input },
      });
      return { ...updated, role };
    });
  }

  async delete(
    userId: string,
    projectId: string,
    expectedVersion: number | undefined,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      const current = await findProjectForUser(tx, projectId, userId);
      requireRole(current?.role ?? null, 'owner', 'project_not_found', 'delete the project');
      // Tasks, comments and memberships go with the project (ON DELETE CASCADE), in this transaction.
      if (!(await deleteProject(tx, projectId, expectedVersion))) throw preconditionFailed();
      await insertEvent(tx, {
        type: 'project.deleted',
        projectId,
        actorId: userId,
        entityId: projectId,
        data: { name: current?.name },
      });
    });
  }
}
