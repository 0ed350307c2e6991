import { availableParallelism } from 'node:os';
import { hash, parseOptions, verify } from '@node-rs/argon2';
import { AppError } from '../../lib/errors.js';

/** OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_OPTIONS = {
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

/**
 * Hashes run on the libuv thread pool, never on the event loop. At most this many run at once,
 * so a login storm leaves a core to the event loop and the database instead of taking all of them.
 */
const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= HASH_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, ARGON2_OPTIONS));
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await limited(() => verify(passwordHash, password));
  } catch {
    return false;
  }
}

/** True when the stored hash was made with weaker parameters than today's. */
export function needsRehash(passwordHash: string): boolean {
  try {
    const options = parseOptions(passwordHash);
    return (
      Number(options.algorithm) !== ARGON2_OPTIONS.algorithm ||
      options.memoryCost < ARGON2_OPTIONS.memoryCost ||
      options.timeCost < ARGON2_OPTIONS.timeCost
    );
  } catch {
    return true;
  }
}

let common: Promise<Set<string>> | undefined;
/**
 * The most common passwords, lower-cased. The list (and the dictionaries packed with it) loads
 * on the first password set, so a process that only checks passwords never holds it.
 */
function commonPasswords(): Promise<Set<string>> {
  // A CommonJS package: its exports are the namespace's `default`, in Node and in the bundle.
  common ??= import('@zxcvbn-ts/language-common').then(
    ({ default: { dictionary } }) =>
      new Set(dictionary['passwords-common'].map((word) => word.toLowerCase())),
  );
  return common;
}

/** Length rules are in the schemas; this refuses the passwords attackers try first. */
export async function assertAcceptablePassword(
  password: string,
  field = 'password',
): Promise<void> {
  if ((await commonPasswords()).has(password.toLowerCase())) {
    throw new AppError('invalid_password', 'This password is too common; choose another.', {
      errors: [
        {
          location: 'body',
          field,
          message: 'is one of the most common passwords',
          code: 'too_common',
        },
      ],
    });
  }
}

let dummy: Promise<string> | undefined;
/** A hash to verify against when the account does not exist, so both paths cost the same. */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword('no account has this password, it only spends time');
  return dummy;
}
