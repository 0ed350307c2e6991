import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Sql } from 'postgres';
import { isConnectionLoss } from './connection-errors.js';

// Anything that could write, lock or touch session state keeps its first answer.
const WRITES =
  /\b(insert|update|delete|merge|into|truncate|copy|call|do|lock|nextval|setval|set_config|pg_advisory\w*|pg_notify|pg_terminate_backend|pg_cancel_backend|lo_\w+)\b/i;
const COMMENTS = /--[^\n]*|\/\*[\s\S]*?\*\//g;

/**
 * True for a statement that only reads: a `select` or a `with … select` that names nothing
 * that writes. Doubtful statements count as writes: retrying a read that is not one could
 * apply a change twice, while not retrying a read only costs one 503.
 */
export function isReadStatement(text: string): boolean {
  const statement = text.replace(COMMENTS, ' ').trim();
  if (!/^(select|with)\b/i.test(statement)) return false;
  return !WRITES.test(statement);
}

type UnsafeArgs = Parameters<Sql['unsafe']>;

/**
 * A read that runs again, once, when its connection is lost. It has the part of a
 * postgres.js query that Drizzle uses: `.values()`, then awaited.
 */
class RetriedRead implements PromiseLike<unknown> {
  #values = false;
  #result: Promise<unknown> | undefined;

  constructor(
    private readonly client: Sql,
    private readonly args: UnsafeArgs,
  ) {}

  values(): this {
    this.#values = true;
    return this;
  }

  then<A = unknown, B = never>(
    onfulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#result ??= this.#run();
    return this.#result.then(onfulfilled, onrejected);
  }

  async #run(): Promise<unknown> {
    try {
      return await this.#query();
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      // Let the close events of other connections lost at the same moment arrive first, so
      // the pool hands the retry a live or a new connection rather than another dead one.
      await nextTurn();
      return this.#query();
    }
  }

  #query(): Promise<unknown> {
    const query = this.client.unsafe(...this.args);
    return this.#values ? query.values() : query;
  }
}

/**
 * The client Drizzle is given: statements outside a transaction that only read are retried
 * once on a fresh connection when theirs is lost. Writes, and everything inside a
 * transaction (which runs on the transaction's own connection, not through `unsafe` here),
 * keep their first answer.
 */
export function retryingReads(client: Sql): Sql {
  const unsafe = (...args: UnsafeArgs) =>
    isReadStatement(args[0]) ? new RetriedRead(client, args) : client.unsafe(...args);
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') return unsafe;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
