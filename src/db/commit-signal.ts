import type { Database, Executor } from './client.js';

type Listener = () => void;

interface Signal {
  listeners: Set<Listener>;
}

// The database a signal belongs to, and each open transaction's "signal when committed" flag.
const signals = new WeakMap<object, Signal>();
const openTransactions = new WeakMap<object, { signal: Signal; raised: boolean }>();

/**
 * Makes `db.transaction` tell listeners, after the commit, that a transaction raised the signal
 * (a rolled-back transaction tells nobody). The event log uses it to wake its readers the moment
 * new events are visible, instead of at the next poll.
 */
export function installCommitSignal(db: Database): void {
  if (signals.has(db)) return;
  const signal: Signal = { listeners: new Set() };
  signals.set(db, signal);
  const transaction = db.transaction.bind(db);
  db.transaction = async (run, config) => {
    let state: { signal: Signal; raised: boolean } | undefined;
    const result = await transaction(async (tx) => {
      state = { signal, raised: false };
      openTransactions.set(tx, state);
      return run(tx);
    }, config);
    if (state?.raised) fire(signal);
    return result;
  };
}

function fire(signal: Signal): void {
  for (const listener of signal.listeners) {
    try {
      listener();
    } catch {
      // A listener's failure is its own; the commit already happened and the caller gets its result.
    }
  }
}

/** Raises the signal: at the commit of `executor`'s transaction, or now when it is the database. */
export function signalAfterCommit(executor: Executor): void {
  const open = openTransactions.get(executor);
  if (open) {
    open.raised = true;
    return;
  }
  const signal = signals.get(executor);
  if (signal) fire(signal);
}

/** Calls `listener` after each commit that raised the signal; returns the way to stop. */
export function onCommitSignal(db: Database, listener: Listener): () => void {
  installCommitSignal(db);
  const signal = signals.get(db);
  if (!signal) throw new Error('commit signal missing');
  signal.listeners.add(listener);
  return () => signal.listeners.delete(listener);
}
