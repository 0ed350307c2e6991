/**
 * The floor reference: the least a server can do to answer `GET /api/v1/tasks/{id}` correctly
 * — verify the access JWT with jose, check the session (and its user) is live, check the caller
 * is a member of the task's project while reading the row, serialise — on bare `node:http` and
 * the same PostgreSQL driver as Docket, with the same pool size. Docket's figures are quoted as
 * a ratio of this server's.
 *
 * It also answers the list pages the bench drives (`GET /api/v1/projects/{id}/tasks` with
 * `limit` and `cursor`, `GET /api/v1/tasks` with `label` or `q`) the least a server can: the
 * same session check, the same keyset query with the caller's membership in it, the same cursor
 * format, `JSON.stringify` of the rows.
 *
 * Environment: PORT, DATABASE_URL, JWT_SECRET, DATABASE_POOL_SIZE (default 10).
 */
import { createServer, type ServerResponse } from 'node:http';
import { jwtVerify } from 'jose';
import postgres from 'postgres';

// Imported once, as any careful server would.
const key = await crypto.subtle.importKey(
  'raw',
  new TextEncoder().encode(process.env.JWT_SECRET ?? ''),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['verify'],
);
const sql = postgres(process.env.DATABASE_URL ?? '', {
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
  onnotice: () => undefined,
});
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TASK_PATH = '/api/v1/tasks/';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

interface TaskRow {
  id: string;
  project_id: string;
  parent_id: string | null;
  title: string;
  description: string;
  status: string;
  priority: string;
  labels: string[];
  assignee_id: string | null;
  due_at: Date | null;
  remind_at: Date | null;
  completed_at: Date | null;
  position: number;
  created_by: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** The caller's user id when the bearer token and its session are live, else `null`. */
async function caller(authorization: string | undefined): Promise<string | null> {
  if (!authorization?.startsWith('Bearer ')) return null;
  let userId: string;
  let sessionId: string;
  try {
    const { payload } = await jwtVerify(authorization.slice(7), key, {
      algorithms: ['HS256'],
      typ: 'at+jwt',
      issuer: 'docket',
      audience: 'docket-api',
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid'],
    });
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null;
    userId = payload.sub;
    sessionId = payload.sid;
  } catch {
    return null;
  }
  const [session] = await sql<{ user_id: string }[]>`
    select s.user_id from sessions s join users u on u.id = s.user_id
    where s.id = ${sessionId} and s.revoked_at is null and s.expires_at > now() and u.is_active`;
  return session?.user_id === userId ? userId : null;
}

async function getTask(authorization: string | undefined, id: string, res: ServerResponse) {
  const userId = await caller(authorization);
  if (userId === null) return send(res, 401, { title: 'Unauthorized' });
  if (!UUID.test(id)) return send(res, 404, { title: 'Not Found' });
  const [task] = await sql<TaskRow[]>`
    select t.id, t.project_id, t.parent_id, t.title, t.description, t.status, t.priority, t.labels,
           t.assignee_id, t.due_at, t.remind_at, t.completed_at, t.position, t.created_by,
           t.version, t.created_at, t.updated_at
    from tasks t
    join project_members m on m.project_id = t.project_id and m.user_id = ${userId}
    where t.id = ${id}`;
  if (!task) return send(res, 404, { title: 'Not Found' });
  return send(res, 200, task);
}

const COLUMNS = `t.id, t.project_id, t.parent_id, t.title, t.description, t.status, t.priority,
  t.labels, t.assignee_id, t.due_at, t.remind_at, t.completed_at, t.position, t.created_by,
  t.created_at, t.updated_at, t.version`;
const CURSOR_KIND = (q: string) => `tasks:created_at:${q}`;

/** Docket's cursor format: base64url JSON of `[kind, created_at, id]`. */
function readCursor(cursor: string | null, kind: string): [string, string] | null | undefined {
  if (cursor === null) return null;
  try {
    const [k, value, id] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    ) as unknown[];
    if (k === kind && typeof value === 'string' && typeof id === 'string' && UUID.test(id)) {
      return [value, id];
    }
  } catch {
    // falls through to undefined: a bad cursor
  }
  return undefined;
}

/** A page of tasks ordered by (created_at, id), 50 by default, in one query with the membership. */
async function listTasks(
  authorization: string | undefined,
  projectId: string | null,
  search: URLSearchParams,
  res: ServerResponse,
) {
  const userId = await caller(authorization);
  if (userId === null) return send(res, 401, { title: 'Unauthorized' });
  const limit = Number(search.get('limit') ?? 50);
  const label = search.get('label');
  const q = search.get('q');
  const after = readCursor(search.get('cursor'), CURSOR_KIND(q ?? ''));
  if (!(limit >= 1 && limit <= 200) || after === undefined) {
    return send(res, 400, { title: 'Bad Request' });
  }
  if (projectId !== null && !UUID.test(projectId)) return send(res, 404, { title: 'Not Found' });
  // Planned for its parameters each time (not a reused generic plan, which picks a poor plan for
  // the label filter across projects), as Docket's list queries are.
  const params: (string | number)[] = [userId];
  const param = (value: string | number) => `$${params.push(value)}`;
  const scope =
    projectId === null
      ? 't.project_id in (select m.project_id from project_members m where m.user_id = $1)'
      : `t.project_id = ${param(projectId)} and exists (select 1 from project_members m
           where m.project_id = $2 and m.user_id = $1)`;
  const conditions = [
    scope,
    label === null ? null : `t.labels @> array[${param(label)}]::text[]`,
    q === null ? null : `t.search @@ websearch_to_tsquery('simple', ${param(q)})`,
    after === null
      ? null
      : `(t.created_at, t.id) > (${param(after[0])}::timestamptz, ${param(after[1])}::uuid)`,
  ].filter((c) => c !== null);
  const text = `select ${COLUMNS} from tasks t where ${conditions.join(' and ')}
    order by t.created_at, t.id limit ${param(limit + 1)}`;
  const rows = (await sql.unsafe(text, params, { prepare: false })) as unknown as (TaskRow & {
    created_at: Date;
  })[];
  if (rows.length === 0 && projectId !== null) {
    const [member] = await sql`
      select 1 from project_members where project_id = ${projectId} and user_id = ${userId}`;
    if (!member) return send(res, 404, { title: 'Not Found' });
  }
  const items = rows.length > limit ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  const next =
    rows.length > limit && last
      ? Buffer.from(
          JSON.stringify([CURSOR_KIND(q ?? ''), last.created_at.toISOString(), last.id]),
        ).toString('base64url')
      : null;
  return send(res, 200, { items, next_cursor: next });
}

const PROJECT_TASKS = /^\/api\/v1\/projects\/([^/]+)\/tasks$/;

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const project = PROJECT_TASKS.exec(path);
  if (req.method === 'GET' && (project !== null || path === '/api/v1/tasks')) {
    const params = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1));
    listTasks(req.headers.authorization, project?.[1] ?? null, params, res).catch((error) => {
      console.error(error);
      send(res, 500, { title: 'Internal Server Error' });
    });
    return;
  }
  if (req.method === 'GET' && url.startsWith(TASK_PATH)) {
    getTask(req.headers.authorization, url.slice(TASK_PATH.length), res).catch((error) => {
      console.error(error);
      send(res, 500, { title: 'Internal Server Error' });
    });
    return;
  }
  if (url === '/health/ready' || url === '/health/live') return send(res, 200, { status: 'ok' });
  send(res, 404, { title: 'Not Found' });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT ?? 8100), '127.0.0.1');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void sql.end({ timeout: 2 }).then(() => process.exit(0));
  });
}
