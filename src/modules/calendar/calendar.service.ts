import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { randomToken, tokenHash } from '../../lib/secrets.js';
import { findRole } from '../projects/projects.repository.js';
import { requireRole } from '../projects/roles.js';
import {
  findCalendarProject,
  listCalendarTasks,
  replaceCalendarToken,
} from './calendar.repository.js';
import type { CalendarToken } from './calendar.schemas.js';
import { buildCalendar } from './ics.js';

/** Feed tokens are told apart from other secrets by their prefix. */
const TOKEN_PREFIX = 'dcal_';
/** The most events one feed carries (the soonest due). */
export const FEED_LIMIT = 5_000;

/** The project's dated tasks as an iCalendar feed, opened by a per-user, per-project token. */
export class CalendarService {
  private readonly db: Database;
  private readonly config: Config;
  private readonly clock: Clock;

  constructor({ db, config, clock }: { db: Database; config: Config; clock: Clock }) {
    this.db = db;
    this.config = config;
    this.clock = clock;
  }

  private feedUrl(projectId: string, token: string): string {
    return `${this.config.publicUrl}/api/v1/projects/${projectId}/calendar.ics?token=${token}`;
  }

  /** A new feed token for the caller and project; the previous one stops working. */
  async createToken(userId: string, projectId: string): Promise<CalendarToken> {
    return this.db.transaction(async (tx) => {
      requireRole(await findRole(tx, projectId, userId), 'viewer', 'project_not_found', 'see it');
      const token = `${TOKEN_PREFIX}${randomToken()}`;
      await replaceCalendarToken(tx, userId, projectId, tokenHash(token));
      return { token, url: this.feedUrl(projectId, token) };
    });
  }

  /** The feed, or `calendar_not_found` for a token that is unknown, replaced or orphaned. */
  async feed(projectId: string, token: string): Promise<string> {
    const project = await findCalendarProject(this.db, projectId, tokenHash(token));
    if (project === null) {
      throw new AppError(
        'calendar_not_found',
        'No calendar feed for this project and token: the token is unknown, was replaced, or ' +
          'its user is no longer a member.',
      );
    }
    const tasks = await listCalendarTasks(this.db, projectId, FEED_LIMIT);
    const { host } = new URL(this.config.publicUrl);
    return buildCalendar(tasks, {
      name: project.name,
      host,
      link: (taskId) => `${this.config.publicUrl}/tasks/${taskId}`,
      now: this.clock.now(),
    });
  }
}
