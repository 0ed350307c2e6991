import type { Database } from '../../db/client.js';
import type { EventRow } from '../../db/schema/index.js';
import { AppError } from '../../lib/errors.js';
import {
  decodeCursor,
  encodeCursor,
  type Page,
  type PageQuery,
  toPage,
} from '../../lib/pagination.js';
import { findRole } from '../projects/projects.repository.js';
import { requireRole } from '../projects/roles.js';
import { listProjectEvents } from './events.repository.js';

export interface EventPublic {
  id: string;
  type: string;
  project_id: string | null;
  actor_id: string | null;
  entity_id: string;
  data: Record<string, unknown>;
  created_at: string;
}

function toEventPublic(event: EventRow): EventPublic {
  return {
    id: event.id,
    type: event.type,
    project_id: event.projectId,
    actor_id: event.actorId,
    entity_id: event.entityId,
    data: event.data as Record<string, unknown>,
    created_at: event.createdAt.toISOString(),
  };
}

export class ActivityService {
  private readonly db: Database;

  constructor({ db }: { db: Database }) {
    this.db = db;
  }

  async list(userId: string, projectId: string, query: PageQuery): Promise<Page<EventPublic>> {
    requireRole(
      await findRole(this.db, projectId, userId),
      'viewer',
      'project_not_found',
      'see it',
    );
    const limit = query.limit ?? 50;
    let beforeSeq: number | null = null;
    if (query.cursor !== undefined) {
      const [seq] = decodeCursor('activity', query.cursor);
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq))
        throw new AppError('invalid_cursor');
      beforeSeq = seq;
    }
    const rows = await listProjectEvents(this.db, projectId, limit, beforeSeq);
    return toPage(rows, limit, toEventPublic, (row) => encodeCursor('activity', [row.seq]));
  }
}
