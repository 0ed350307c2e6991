/**
 * The floor reference: the least a server can do to answer `GET /api/v1/tasks/{id}` correctly
 * — verify the access JWT with jose, check the session (and its user) is live, check the caller
 * is a member of the task's project while reading the row, serialise — on bare `node:http` and
 * the same PostgreSQL driver as Docket, with the same pool size. Docket's figures are quoted as
 * a ratio of this server's.
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

async function getTask(authorization: string | undefined, id: string, res: ServerResponse) {
  if (!authorization?.startsWith('Bearer ')) return send(res, 401, { title: 'Unauthorized' });
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
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
      return send(res, 401, { title: 'Unauthorized' });
    }
    userId = payload.sub;
    sessionId = payload.sid;
  } catch {
    return send(res, 401, { title: 'Unauthorized' });
  }
  const [session] = await sql<{ user_id: string }[]>`
    select s.user_id from sessions s join users u on u.id = s.user_id
    where s.id = ${sessionId} and s.revoked_at is null and s.expires_at > now() and u.is_active`;
  if (!session || session.user_id !== userId) return send(res, 401, { title: 'Unauthorized' });
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

const server = createServer((req, res) => {
  const url = req.url ?? '/';
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
