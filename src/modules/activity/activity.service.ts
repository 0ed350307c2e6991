import type { Database } from '../../db/client.js';
import { AppError } from '../../lib/errors.js';
import {
  decodeCursor,
  encodeCursor,
  type Page,
  type PageQuery,
  pageLimit,
  toPage,
} from '../../lib/pagination.js';
import { findRole } from '../projects/projects.repository.js';
import { requireRole } from '../projects/roles.js';
import { listProjectEvents, toEventPublic } from './events.repository.js';
import type { EventPublic } from './events.schemas.js';

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
    const limit = pageLimit(query);
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
