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
import { listEtag, listNotModified } from '../../lib/list-etag.js';
import { prepareFindRoleAndVersion } from '../projects/project-versions.repository.js';
import { requireRole } from '../projects/roles.js';
import { listProjectEvents, toEventPublic } from './events.repository.js';
import type { EventPublic } from './events.schemas.js';

/** A page with its weak `ETag`; `page` is `null` when `If-None-Match` named it (answer 304). */
export interface ListAnswer<T> {
  etag: string;
  page: Page<T> | null;
}

export class ActivityService {
  private readonly db: Database;
  private readonly findRoleAndVersion: ReturnType<typeof prepareFindRoleAndVersion>;

  constructor({ db }: { db: Database }) {
    this.db = db;
    this.findRoleAndVersion = prepareFindRoleAndVersion(db);
  }

  /** Events are written and purged with a bump of their project's version, read before them. */
  async list(
    userId: string,
    projectId: string,
    query: PageQuery,
    ifNoneMatch?: string,
  ): Promise<ListAnswer<EventPublic>> {
    const [found] = await this.findRoleAndVersion.execute({ projectId, userId });
    requireRole(found?.role ?? null, 'viewer', 'project_not_found', 'see it');
    const etag = listEtag('activity', userId, { projectId, query }, String(found?.changeVersion));
    const limit = pageLimit(query);
    let beforeSeq: number | null = null;
    if (query.cursor !== undefined) {
      const [seq] = decodeCursor('activity', query.cursor);
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq))
        throw new AppError('invalid_cursor');
      beforeSeq = seq;
    }
    if (listNotModified(ifNoneMatch, etag)) return { etag, page: null };
    const rows = await listProjectEvents(this.db, projectId, limit, beforeSeq);
    return {
      etag,
      page: toPage(rows, limit, toEventPublic, (row) => encodeCursor('activity', [row.seq])),
    };
  }
}
