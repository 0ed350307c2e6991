import { describe, expect, it } from 'vitest';
import { isReadStatement } from './read-retry.js';

describe('isReadStatement', () => {
  it.each([
    'select 1',
    '  SELECT "id", "updated_at" from "tasks" where "deleted_at" is null',
    'select "task_updates"."id" from "task_updates"',
    'with recursive subtree(id) as (select id from tasks) select id from subtree',
    '/* list */ select count(*) from projects',
    '-- one\nselect 1',
  ])('when the statement is %j, then it is a read', (text) => {
    expect(isReadStatement(text)).toBe(true);
  });

  it.each([
    'insert into "tasks" ("id") values ($1) returning "id"',
    'update "tasks" set "title" = $1',
    'delete from "sessions" where "id" = $1',
    'with moved as (update tasks set project_id = $1 returning id) select id from moved',
    'select * from tasks for update',
    'select nextval($1)',
    'select pg_advisory_lock($1)',
    'select set_config($1, $2, false)',
    'select * into backup from tasks',
    'begin',
    'commit',
    'rollback',
    'set statement_timeout = 1000',
    '',
  ])('when the statement is %j, then it is not retried as a read', (text) => {
    expect(isReadStatement(text)).toBe(false);
  });
});
