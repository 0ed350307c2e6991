import type { EventPosition } from '../activity/events.repository.js';
import type { EventPublic } from '../activity/events.schemas.js';
import { comparePositions, encodePosition } from './cursor.js';

const eventTexts = new WeakMap<EventPublic, string>();

/**
 * An event's JSON, serialised once however many streams carry it: the relay hands every
 * subscriber the same object, and one event may go to thousands of streams.
 */
export function eventJson(event: EventPublic): string {
  let text = eventTexts.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    eventTexts.set(event, text);
  }
  return text;
}

const positionCursors = new WeakMap<EventPosition, string>();

/** An event's cursor, encoded once however many streams carry it (like `eventJson`). */
function cursorOf(position: EventPosition): string {
  let cursor = positionCursors.get(position);
  if (cursor === undefined) {
    cursor = encodePosition(position);
    positionCursors.set(position, cursor);
  }
  return cursor;
}

/** Where a feed writes: the SSE response or the WebSocket of its connection. */
export interface FeedSink {
  event(event: EventPublic, cursor: string): void;
  /** The resume point is older than the kept history: the client refetches, then reads on. */
  reset(cursor: string): void;
  /** Replay is done; what follows is live. */
  live(projects: string[]): void;
}

/** What a feed asks for: every project of the user (and those joined later), or these ones. */
export type FeedProjects = 'all' | ReadonlySet<string>;

/** Told when a feed starts or stops hearing a project, so the hub's index follows. */
export interface FeedIndex {
  join(feed: Feed, projectId: string): void;
  leave(feed: Feed, projectId: string): void;
}

const MEMBER_TYPES: ReadonlySet<string> = new Set([
  'member.added',
  'member.updated',
  'member.removed',
]);

/**
 * The user whose memberships an event changes (a member event's user, a new project's
 * creator, who owns it), else `null`.
 */
export function memberEventUser(event: EventPublic): string | null {
  if (event.type === 'project.created') return event.actor_id;
  if (!MEMBER_TYPES.has(event.type)) return null;
  const userId = (event.data as { user_id?: unknown }).user_id;
  return typeof userId === 'string' ? userId : null;
}

/** Live events kept while the replay runs; a replay this far behind is ended and resumed. */
export const FEED_BUFFER_MAX = 10_000;

/**
 * One subscription of one connection: which projects it hears, where it has read to, and the
 * live events held back while the replay from the table runs. Events reach it at least once
 * and in log order (from the replay, then the relay); it drops every position it has passed,
 * so nothing is sent twice, and it applies membership changes about its user as they come.
 */
export class Feed {
  readonly userId: string;
  readonly #sink: FeedSink;
  #requested: FeedProjects;
  #projects = new Set<string>();
  #index: FeedIndex | null = null;
  #buffer: { event: EventPublic; position: EventPosition }[] | null = [];
  #last: EventPosition | null = null;
  closed = false;
  /** Called when the buffer overflows: the connection ends, the client resumes. */
  onOverflow: () => void = () => undefined;

  constructor(userId: string, requested: FeedProjects, sink: FeedSink) {
    this.userId = userId;
    this.#requested = requested;
    this.#sink = sink;
  }

  get projects(): ReadonlySet<string> {
    return this.#projects;
  }

  get buffering(): boolean {
    return this.#buffer !== null;
  }

  /** Sets the projects heard (the caller's current memberships) and where the replay starts. */
  begin(memberships: Iterable<string>, from: EventPosition): void {
    for (const projectId of memberships) {
      if (this.#requested === 'all' || this.#requested.has(projectId)) {
        this.#projects.add(projectId);
      }
    }
    this.#last = from;
  }

  /** A live event from the relay: held while replaying, else handled now. */
  deliver(event: EventPublic, position: EventPosition): void {
    if (this.closed) return;
    if (this.#buffer === null) {
      this.handle(event, position);
      return;
    }
    this.#buffer.push({ event, position });
    if (this.#buffer.length > FEED_BUFFER_MAX) this.onOverflow();
  }

  /** Ends the replay: sends what was held back, then goes live in the hub's index. */
  goLive(index: FeedIndex): void {
    const held = this.#buffer ?? [];
    this.#buffer = null;
    for (const { event, position } of held) this.handle(event, position);
    if (this.closed) return;
    this.#index = index;
    for (const projectId of this.#projects) index.join(this, projectId);
    this.#sink.live([...this.#projects]);
  }

  reset(position: EventPosition): void {
    this.#last = position;
    this.#sink.reset(encodePosition(position));
  }

  /** One event in log order, from the replay or the relay. */
  handle(event: EventPublic, position: EventPosition): void {
    if (this.closed) return;
    if (this.#last !== null && comparePositions(position, this.#last) <= 0) return;
    this.#last = position;
    const projectId = event.project_id;
    if (projectId === null) return;
    const aboutMe = memberEventUser(event) === this.userId;
    if (
      aboutMe &&
      (event.type === 'member.added' || event.type === 'project.created') &&
      (this.#requested === 'all' || this.#requested.has(projectId))
    ) {
      this.#join(projectId);
    }
    if (!this.#projects.has(projectId)) return;
    this.#sink.event(event, cursorOf(position));
    if ((aboutMe && event.type === 'member.removed') || event.type === 'project.deleted') {
      this.#leave(projectId);
    }
  }

  /** Stops hearing these projects (a WebSocket `unsubscribe`). */
  drop(projectIds: Iterable<string>): void {
    const requested =
      this.#requested === 'all' ? new Set(this.#projects) : new Set(this.#requested);
    for (const projectId of projectIds) {
      requested.delete(projectId);
      this.#leave(projectId);
    }
    this.#requested = requested;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#buffer = null;
    for (const projectId of this.#projects) this.#index?.leave(this, projectId);
    this.#projects.clear();
  }

  #join(projectId: string): void {
    if (this.#projects.has(projectId)) return;
    this.#projects.add(projectId);
    this.#index?.join(this, projectId);
  }

  #leave(projectId: string): void {
    if (!this.#projects.delete(projectId)) return;
    this.#index?.leave(this, projectId);
  }
}
