import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isConnectionLoss } from '../db/connection-errors.js';
import { idempotencyKeys } from '../db/schema/index.js';
import { canonicalJson } from '../lib/canonical-json.js';
import { AppError } from '../lib/errors.js';

const HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const RETENTION_MS = 24 * 60 * 60 * 1000;
// A first request that has not finished by then is taken to have died with its process.
const ABANDONED_AFTER_MS = 60 * 1000;
// When the database is lost as a request ends, its outcome is stored (or its key released)
// again after these pauses, well before the key would be taken as abandoned.
const SETTLE_RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000, 16_000];

interface Claim {
  userId: string;
  key: string;
}

function requestHash(request: FastifyRequest): string {
  const route = request.routeOptions.url ?? request.url;
  return createHash('sha256')
    .update(
      `${request.method} ${route} ${JSON.stringify(request.params)} ${canonicalJson(request.body)}`,
    )
    .digest('base64url');
}

/**
 * `Idempotency-Key` for creating POSTs: a route opts in with `config: { idempotent: true }`.
 * The same key and body replay the first answer for 24 h; a different body is 422; a
 * retry while the first is still running is 409. Answers of 5xx release the key for a retry.
 */
export default fp(
  async function idempotencyPlugin(app: FastifyInstance) {
    const { db } = app;

    async function claim(userId: string, key: string, hash: string): Promise<boolean> {
      const now = Date.now();
      const rows = await db
        .insert(idempotencyKeys)
        .values({ userId, key, requestHash: hash, expiresAt: new Date(now + RETENTION_MS) })
        .onConflictDoUpdate({
          target: [idempotencyKeys.userId, idempotencyKeys.key],
          set: {
            requestHash: hash,
            responseStatus: null,
            responseBody: null,
            responseType: null,
            createdAt: sql`now()`,
            expiresAt: new Date(now + RETENTION_MS),
          },
          // Only an expired record, or a first attempt that was abandoned, is taken over.
          setWhere: or(
            lt(idempotencyKeys.expiresAt, sql`now()`),
            and(
              sql`${idempotencyKeys.responseStatus} is null`,
              lt(idempotencyKeys.createdAt, new Date(now - ABANDONED_AFTER_MS)),
            ),
          ),
        })
        .returning({ key: idempotencyKeys.key });
      return rows.length > 0;
    }

    async function replayOrRefuse(
      reply: FastifyReply,
      userId: string,
      key: string,
      hash: string,
    ): Promise<FastifyReply> {
      const [stored] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
        .limit(1);
      if (stored === undefined) {
        throw new AppError(
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is in progress.',
        );
      }
      if (stored.requestHash !== hash) {
        throw new AppError(
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request; use a new key.',
        );
      }
      if (stored.responseStatus === null) {
        throw new AppError(
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is in progress.',
        );
      }
      return reply
        .code(stored.responseStatus)
        .header('idempotency-replayed', 'true')
        .type(stored.responseType ?? 'application/json; charset=utf-8')
        .send(stored.responseBody ?? '');
    }

    app.decorateRequest('idempotencyClaim', null);

    app.addHook('preHandler', async (request, reply) => {
      if (request.routeOptions.config.idempotent !== true) return;
      const key = request.headers[HEADER];
      if (key === undefined) return;
      if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
        throw new AppError(
          'validation_failed',
          'Idempotency-Key must be 1–255 printable ASCII characters.',
          {
            errors: [
              {
                location: 'header',
                field: 'Idempotency-Key',
                message: 'must be 1–255 printable ASCII characters',
                code: 'invalid_format',
              },
            ],
          },
        );
      }
      const userId = request.auth?.userId;
      if (userId === undefined) return;
      const hash = requestHash(request);
      if (await claim(userId, key, hash)) {
        request.idempotencyClaim = { userId, key };
        return;
      }
      return replayOrRefuse(reply, userId, key, hash);
    });

    const pendingSettles = new Set<NodeJS.Timeout>();
    let closing = false;
    app.addHook('onClose', async () => {
      closing = true;
      for (const timer of pendingSettles) clearTimeout(timer);
      pendingSettles.clear();
    });

    /**
     * Runs `settle` now; when the database connection is lost, again in the background, so
     * the key is neither left "in progress" nor does the answer the client already has turn
     * into an error.
     */
    async function settleOrRetry(
      request: FastifyRequest,
      settle: () => Promise<unknown>,
    ): Promise<void> {
      // Once now and, like a read, once more on a fresh connection: the statement only ever
      // sets this request's own key to its outcome, so running it twice changes nothing.
      for (const last of [false, true]) {
        try {
          await settle();
          return;
        } catch (error) {
          if (!isConnectionLoss(error)) throw error;
          if (last) request.log.warn({ err: error }, 'idempotency key not settled; retrying later');
        }
        if (!last) await nextTurn();
      }
      const retry = (attempt: number): void => {
        if (closing) return;
        const delay = SETTLE_RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          request.log.error('idempotency key not settled; it is released when abandoned');
          return;
        }
        const timer = setTimeout(() => {
          pendingSettles.delete(timer);
          settle().catch((error: unknown) => {
            if (isConnectionLoss(error)) retry(attempt + 1);
            else request.log.error({ err: error }, 'idempotency key not settled');
          });
        }, delay);
        timer.unref();
        pendingSettles.add(timer);
      };
      retry(0);
    }

    app.addHook('onSend', async (request, reply, payload) => {
      const claimed = request.idempotencyClaim;
      if (!claimed) return payload;
      request.idempotencyClaim = null;
      const where = and(
        eq(idempotencyKeys.userId, claimed.userId),
        eq(idempotencyKeys.key, claimed.key),
      );
      if (reply.statusCode >= 500) {
        await settleOrRetry(request, () => db.delete(idempotencyKeys).where(where));
      } else {
        const type = reply.getHeader('content-type');
        const outcome = {
          responseStatus: reply.statusCode,
          responseBody: typeof payload === 'string' ? payload : '',
          responseType: typeof type === 'string' ? type : null,
        };
        await settleOrRetry(request, () => db.update(idempotencyKeys).set(outcome).where(where));
      }
      return payload;
    });
  },
  { name: 'idempotency', dependencies: ['db', 'auth'] },
);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour `Idempotency-Key` on this route. */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotencyClaim: Claim | null;
  }
}
