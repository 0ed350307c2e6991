import { describe, expect, it } from 'vitest';
import type { EventPublic } from '../activity/events.schemas.js';
import { decodePosition } from './cursor.js';
import { FEED_BUFFER_MAX, Feed, type FeedIndex, type FeedSink } from './feed.js';

const ME = '00000000-0000-7000-8000-000000000001';
const OTHER = '00000000-0000-7000-8000-000000000002';
const P1 = '00000000-0000-7000-8000-0000000000a1';
const P2 = '00000000-0000-7000-8000-0000000000a2';

function event(type: string, projectId: string, data: object = {}, actor = OTHER): EventPublic {
  return {
    id: `${type}-${projectId}`,
    type,
    project_id: projectId,
    actor_id: actor,
    entity_id: projectId,
    data,
    created_at: '2026-01-01T00:00:00.000Z',
  } as EventPublic;
}
const at = (seq: number) => ({ txid: '100', seq });

function recorder() {
  const sent: { type: string; project: string | null; seq: number }[] = [];
  const sink: FeedSink = {
    event: (e, cursor) =>
      sent.push({ type: e.type, project: e.project_id, seq: decodePosition(cursor).seq }),
    reset: () => undefined,
    live: () => undefined,
  };
  const index: FeedIndex & { joined: string[]; left: string[] } = {
    joined: [],
    left: [],
    join: (_feed, projectId) => index.joined.push(projectId),
    leave: (_feed, projectId) => index.left.push(projectId),
  };
  return { sent, sink, index };
}

describe('a feed', () => {
  it('when events come from the replay and again live, then each position is sent once, in order', () => {
    const { sent, sink, index } = recorder();
    const feed = new Feed(ME, 'all', sink);
    feed.begin([P1], at(0));
    feed.deliver(event('task.created', P1), at(2));
    feed.deliver(event('task.created', P1), at(3));
    feed.handle(event('task.created', P1), at(1));
    feed.handle(event('task.created', P1), at(2));
    feed.goLive(index);
    feed.deliver(event('task.created', P1), at(3));
    feed.deliver(event('task.created', P1), at(4));
    expect(sent.map((s) => s.seq)).toEqual([1, 2, 3, 4]);
    expect(index.joined).toEqual([P1]);
  });

  it('when its user is removed from a project, then the removal is the last event of it sent', () => {
    const { sent, sink, index } = recorder();
    const feed = new Feed(ME, 'all', sink);
    feed.begin([P1, P2], at(0));
    feed.goLive(index);
    feed.deliver(event('member.removed', P1, { user_id: OTHER }), at(1));
    feed.deliver(event('member.removed', P1, { user_id: ME }), at(2));
    feed.deliver(event('task.created', P1), at(3));
    feed.deliver(event('task.created', P2), at(4));
    expect(sent.map((s) => [s.type, s.project])).toEqual([
      ['member.removed', P1],
      ['member.removed', P1],
      ['task.created', P2],
    ]);
    expect(index.left).toEqual([P1]);
  });

  it('when its user joins or creates a project, then a feed of all projects follows it and a feed of some does not', () => {
    const all = recorder();
    const some = recorder();
    const everything = new Feed(ME, 'all', all.sink);
    const chosen = new Feed(ME, new Set([P1]), some.sink);
    for (const [feed, r] of [
      [everything, all],
      [chosen, some],
    ] as const) {
      feed.begin([P1], at(0));
      feed.goLive(r.index);
      feed.deliver(event('member.added', P2, { user_id: ME }), at(1));
      feed.deliver(event('project.created', '00000000-0000-7000-8000-0000000000a3', {}, ME), at(2));
      feed.deliver(event('task.created', P2), at(3));
    }
    expect(all.sent.map((s) => s.type)).toEqual([
      'member.added',
      'project.created',
      'task.created',
    ]);
    expect(some.sent).toEqual([]);
  });

  it('when a project is deleted, then the feed stops hearing it', () => {
    const { sent, sink, index } = recorder();
    const feed = new Feed(ME, 'all', sink);
    feed.begin([P1], at(0));
    feed.goLive(index);
    feed.deliver(event('project.deleted', P1), at(1));
    feed.deliver(event('task.created', P1), at(2));
    expect(sent.map((s) => s.type)).toEqual(['project.deleted']);
    expect(feed.projects.size).toBe(0);
  });

  it('when live events pile up past the limit during the replay, then it asks to be ended', () => {
    const { sink } = recorder();
    const feed = new Feed(ME, 'all', sink);
    let overflowed = 0;
    feed.onOverflow = () => (overflowed += 1);
    feed.begin([P1], at(0));
    for (let i = 1; i <= FEED_BUFFER_MAX + 1; i += 1)
      feed.deliver(event('task.created', P1), at(i));
    expect(overflowed).toBe(1);
  });

  it('when some projects are dropped, then their events stop and a join does not bring them back', () => {
    const { sent, sink, index } = recorder();
    const feed = new Feed(ME, 'all', sink);
    feed.begin([P1, P2], at(0));
    feed.goLive(index);
    feed.drop([P1]);
    feed.deliver(event('task.created', P1), at(1));
    feed.deliver(event('member.added', P1, { user_id: ME }), at(2));
    feed.deliver(event('task.created', P2), at(3));
    expect(sent.map((s) => s.project)).toEqual([P2]);
  });
});
