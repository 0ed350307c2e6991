import { AppError } from './errors.js';

/** A strong validator: the stored version changes with every change of the resource. */
export function etagOf(version: number): string {
  return `"v${version}"`;
}

function tags(header: string): string[] {
  return header.split(',').map((tag) => tag.trim());
}

/** `If-None-Match` on a GET: true when the client's copy is current (answer 304). */
export function isNotModified(header: string | undefined, version: number): boolean {
  if (header === undefined) return false;
  const current = etagOf(version);
  return tags(header).some((tag) => tag === '*' || tag === current || tag === `W/${current}`);
}

/**
 * `If-Match` on PATCH/DELETE: the version the change must apply to, `undefined` when any
 * version will do. A tag that is not one of ours can never match.
 */
export function expectedVersion(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  for (const tag of tags(header)) {
    const match = /^"v(\d{1,9})"$/.exec(tag);
    if (match?.[1]) return Number(match[1]);
  }
  return -1;
}

export function preconditionFailed(): AppError {
  return new AppError(
    'precondition_failed',
    'The resource changed since you fetched it (If-Match does not match its ETag).',
  );
}
