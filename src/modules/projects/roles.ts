import { AppError, type ErrorCode } from '../../lib/errors.js';

export const ROLES = ['viewer', 'editor', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/**
 * The one visibility rule: a non-member is told the resource does not exist (404);
 * a member whose role is too low is told it may not (403).
 */
export function requireRole(
  role: Role | null,
  needed: Role,
  notFound: ErrorCode,
  action: string,
): Role {
  if (role === null) throw new AppError(notFound);
  if (!atLeast(role, needed)) {
    throw new AppError('forbidden', `Only a project ${needed} or above may ${action}.`);
  }
  return role;
}
