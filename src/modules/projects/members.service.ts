import type { Database, Executor } from '../../db/client.js';
import { AppError } from '../../lib/errors.js';
import { cursorUuid, decodeCursor, encodeCursor, type Page, toPage } from '../../lib/pagination.js';
import { insertEvent } from '../activity/events.repository.js';
import {
  countOwnersForUpdate,
  deleteMember,
  findMember,
  findUserIdByEmail,
  insertMember,
  listMembers,
  type MemberRow,
  updateMemberRole,
} from './members.repository.js';
import type { MemberCreate, MemberListQuery, MemberPublic } from './members.schemas.js';
import { findRole } from './projects.repository.js';
import { atLeast, requireRole, type Role } from './roles.js';

export function toMemberPublic(member: MemberRow): MemberPublic {
  return {
    user_id: member.userId,
    email: member.email,
    full_name: member.fullName,
    role: member.role,
    created_at: member.createdAt.toISOString(),
    updated_at: member.updatedAt.toISOString(),
  };
}

/** Admins manage members below owner; only owners grant, change or remove the owner role. */
function assertMayManage(actorRole: Role, targetRole: Role, newRole?: Role): void {
  const needed: Role = targetRole === 'owner' || newRole === 'owner' ? 'owner' : 'admin';
  if (!atLeast(actorRole, needed)) {
    throw new AppError(
      'forbidden',
      needed === 'owner'
        ? 'Only an owner may grant or change the owner role.'
        : 'Only a project admin or owner may manage members.',
    );
  }
}

export class MembersService {
  private readonly db: Database;

  constructor({ db }: { db: Database }) {
    this.db = db;
  }

  private async role(db: Executor, projectId: string, userId: string): Promise<Role> {
    return requireRole(
      await findRole(db, projectId, userId),
      'viewer',
      'project_not_found',
      'see it',
    );
  }

  async list(
    userId: string,
    projectId: string,
    query: MemberListQuery,
  ): Promise<Page<MemberPublic>> {
    await this.role(this.db, projectId, userId);
    const limit = query.limit ?? 50;
    const after =
      query.cursor === undefined ? null : cursorUuid(decodeCursor('members', query.cursor)[0]);
    const rows = await listMembers(this.db, projectId, after, limit);
    return toPage(rows, limit, toMemberPublic, (row) => encodeCursor('members', [row.userId]));
  }

  async add(actorId: string, projectId: string, input: MemberCreate): Promise<MemberRow> {
    return this.db.transaction(async (tx) => {
      const actorRole = await this.role(tx, projectId, actorId);
      assertMayManage(actorRole, input.role);
      const userId = await findUserIdByEmail(tx, input.email.trim().toLowerCase());
      if (userId === null) throw new AppError('user_not_found', 'No user has this email address.');
      if (!(await insertMember(tx, { projectId, userId, role: input.role }))) {
        throw new AppError('member_exists', 'This user is already a member of the project.');
      }
      await insertEvent(tx, {
        type: 'member.added',
        projectId,
        actorId,
        entityId: userId,
        data: { role: input.role },
      });
      const member = await findMember(tx, projectId, userId);
      if (member === null) throw new Error('member vanished inside its transaction');
      return member;
    });
  }

  async changeRole(
    actorId: string,
    projectId: string,
    userId: string,
    role: Role,
  ): Promise<MemberRow> {
    return this.db.transaction(async (tx) => {
      const actorRole = await this.role(tx, projectId, actorId);
      const target = await findMember(tx, projectId, userId);
      if (target === null) throw new AppError('member_not_found');
      assertMayManage(actorRole, target.role, role);
      if (
        target.role === 'owner' &&
        role !== 'owner' &&
        (await countOwnersForUpdate(tx, projectId)) <= 1
      ) {
        throw new AppError('last_owner', 'Make another member owner before demoting the last one.');
      }
      await updateMemberRole(tx, projectId, userId, role);
      await insertEvent(tx, {
        type: 'member.updated',
        projectId,
        actorId,
        entityId: userId,
        data: { role, previous_role: target.role },
      });
      return { ...target, role, updatedAt: new Date() };
    });
  }

  async remove(actorId: string, projectId: string, userId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const actorRole = await this.role(tx, projectId, actorId);
      const target = await findMember(tx, projectId, userId);
      if (target === null) throw new AppError('member_not_found');
      // Anyone may leave; removing someone else needs the right to manage them.
      if (userId !== actorId) assertMayManage(actorRole, target.role);
      if (target.role === 'owner' && (await countOwnersForUpdate(tx, projectId)) <= 1) {
        throw new AppError(
          'last_owner',
          'The last owner cannot leave; delete the project or add an owner.',
        );
      }
      await deleteMember(tx, projectId, userId);
      await insertEvent(tx, {
        type: 'member.removed',
        projectId,
        actorId,
        entityId: userId,
        data: { role: target.role },
      });
    });
  }
}
