import { decodeJwt } from 'jose';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { randomToken, tokenHash } from '../../lib/secrets.js';
import type { AuthContext } from '../../plugins/auth.js';
import type { EventRelay } from '../activity/event-relay.js';
import type { SessionCache } from '../auth/session-cache.js';
import type { EventPosition } from '../activity/events.repository.js';
import { decodePosition } from './cursor.js';
import { RealtimeHub, type StreamCredential } from './hub.js';
import {
  findCredentialStates,
  insertTicket,
  listMemberProjectIds,
  redeemTicket,
} from './realtime.repository.js';

export const TICKET_PREFIX = 'rtk_';
export const TICKET_TTL_SECONDS = 30;

export interface RealtimeServiceOptions {
  db: Database;
  events: EventRelay;
  config: Config;
  clock: Clock;
  sessionCache?: SessionCache;
}

/** Tickets, stream credentials and the checks a stream passes before it opens. */
export class RealtimeService {
  readonly hub: RealtimeHub;
  readonly #db: Database;
  readonly #clock: Clock;

  constructor(options: RealtimeServiceOptions) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.hub = new RealtimeHub(options);
  }

  /** A credential for a bearer-authenticated request; an access token's `exp` bounds it. */
  credentialOf(auth: AuthContext, bearer: string | null): StreamCredential {
    let expiresAt: number | null = null;
    if (auth.sessionId !== null && bearer !== null) {
      const { exp } = decodeJwt(bearer);
      expiresAt = typeof exp === 'number' ? exp * 1000 : null;
    }
    return { userId: auth.userId, sessionId: auth.sessionId, tokenId: auth.tokenId, expiresAt };
  }

  /** A single-use ticket, valid 30 s, standing for the caller's credential. */
  async createTicket(
    credential: StreamCredential,
  ): Promise<{ ticket: string; expires_in: number }> {
    const ticket = `${TICKET_PREFIX}${randomToken()}`;
    const now = this.#clock.now().getTime();
    await insertTicket(this.#db, {
      tokenHash: tokenHash(ticket),
      userId: credential.userId,
      sessionId: credential.sessionId,
      tokenId: credential.tokenId,
      credentialExpiresAt: credential.expiresAt === null ? null : new Date(credential.expiresAt),
      expiresAt: new Date(now + TICKET_TTL_SECONDS * 1000),
    });
    return { ticket, expires_in: TICKET_TTL_SECONDS };
  }

  /** Uses a ticket up; `null` when it is unknown, used, expired, or its credential has ended. */
  async redeemTicket(ticket: string): Promise<StreamCredential | null> {
    if (!ticket.startsWith(TICKET_PREFIX) || ticket.length > 100) return null;
    const now = this.#clock.now();
    const row = await redeemTicket(this.#db, tokenHash(ticket), now);
    if (row === null) return null;
    const credential: StreamCredential = {
      userId: row.userId,
      sessionId: row.sessionId,
      tokenId: row.tokenId,
      expiresAt: row.credentialExpiresAt?.getTime() ?? null,
    };
    if (credential.expiresAt !== null && credential.expiresAt <= now.getTime()) return null;
    const id = credential.sessionId ?? credential.tokenId;
    if (id === null) return null;
    const states = await findCredentialStates(
      this.#db,
      credential.sessionId === null ? [] : [credential.sessionId],
      credential.tokenId === null ? [] : [credential.tokenId],
      now,
    );
    return states.get(id) === 'live' ? credential : null;
  }

  /** The resume point a client sent (header first), or `null` to start live. */
  resumePoint(header: string | undefined, query: string | undefined): EventPosition | null {
    const cursor = header ?? query;
    return cursor === undefined || cursor === '' ? null : decodePosition(cursor);
  }

  /** The projects asked for, each one the caller's (404 otherwise); none asked: `all`. */
  async checkProjects(
    userId: string,
    requested: string[] | undefined,
  ): Promise<Set<string> | 'all'> {
    if (requested === undefined || requested.length === 0) return 'all';
    const mine = new Set(await listMemberProjectIds(this.#db, userId));
    const missing = requested.find((projectId) => !mine.has(projectId));
    if (missing !== undefined) {
      throw new AppError('project_not_found', `No project ${missing} that you can see.`);
    }
    return new Set(requested);
  }
}
