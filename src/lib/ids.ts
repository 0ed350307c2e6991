import { v7 } from 'uuid';

/** Time-ordered, unguessable identifiers (UUIDv7) for every stored row. */
export function newId(): string {
  return v7();
}
