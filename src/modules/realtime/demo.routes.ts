import type { FastifyPluginAsync } from 'fastify';

// The page's own policy: its script and the API on this origin only.
const DEMO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Docket live events</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; max-width: 60rem; }
  label { display: inline-block; margin-right: 1rem; }
  #log { font-family: ui-monospace, monospace; white-space: pre-wrap; border: 1px solid #ccc;
         padding: .5rem; min-height: 10rem; max-height: 30rem; overflow: auto; }
</style>
</head>
<body>
<h1>Docket live events</h1>
<form id="login" method="post">
  <label>Email <input id="email" type="email" autocomplete="username" required></label>
  <label>Password <input id="password" type="password" autocomplete="current-password" required></label>
  <button id="submit" type="submit" disabled>Log in and listen</button>
</form>
<p>Project: <select id="project"><option value="">all my projects</option></select>
  <span id="status">not connected</span></p>
<div id="log" aria-live="polite"></div>
<script src="/realtime-demo/demo.js"></script>
</body>
</html>
`;

/*
 * EventSource cannot send Authorization, so each (re)connection takes a fresh single-use ticket
 * and passes the last event id along: the browser's own retry would reuse a spent ticket.
 */
const SCRIPT = `'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  let token = null;
  let source = null;
  let lastEventId = null;
  let retryTimer = null;

  function log(line) {
    const entry = document.createElement('div');
    entry.textContent = new Date().toISOString().slice(11, 23) + ' ' + line;
    $('log').prepend(entry);
  }
  function status(text) {
    $('status').textContent = text;
    document.body.dataset.status = text;
  }
  async function api(path, init) {
    const response = await fetch('/api/v1' + path, init);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(path + ': ' + response.status + ' ' + (body.detail || ''));
    return body;
  }
  const authed = (init = {}) => ({ ...init, headers: { authorization: 'Bearer ' + token, ...(init.headers || {}) } });

  async function connect() {
    if (source) source.close();
    clearTimeout(retryTimer);
    try {
      const { ticket } = await api('/realtime/tickets', authed({ method: 'POST' }));
      const query = new URLSearchParams({ ticket });
      if ($('project').value) query.append('project_id', $('project').value);
      if (lastEventId) query.set('last_event_id', lastEventId);
      source = new EventSource('/api/v1/events/stream?' + query);
    } catch (error) {
      status('error');
      log(String(error.message || error));
      return;
    }
    status('connecting');
    source.onopen = () => status('live');
    source.onerror = () => {
      source.close();
      status('reconnecting');
      retryTimer = setTimeout(connect, 2000);
    };
    source.addEventListener('reset', (message) => {
      lastEventId = message.lastEventId;
      log('reset: history is gone; refetch what you show');
    });
    const types = ['project.created', 'project.updated', 'project.deleted', 'member.added',
      'member.updated', 'member.removed', 'task.created', 'task.updated', 'task.completed',
      'task.reminder', 'task.moved', 'task.deleted', 'comment.created', 'comment.updated',
      'comment.deleted'];
    for (const type of types) {
      source.addEventListener(type, (message) => {
        lastEventId = message.lastEventId;
        const event = JSON.parse(message.data);
        const title = event.data && (event.data.title || event.data.name || event.data.body);
        log(type + ' ' + event.entity_id + (title ? ' ' + JSON.stringify(title) : ''));
      });
    }
  }

  $('login').addEventListener('submit', async (submit) => {
    submit.preventDefault();
    try {
      const body = { grant_type: 'password', username: $('email').value, password: $('password').value };
      const tokens = await api('/auth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      token = tokens.access_token;
      const projects = await api('/projects?limit=200', authed());
      for (const project of projects.items || []) {
        const option = document.createElement('option');
        option.value = project.id;
        option.textContent = project.name;
        $('project').append(option);
      }
      log('logged in');
      await connect();
    } catch (error) {
      status('error');
      log(String(error.message || error));
    }
  });
  $('project').addEventListener('change', () => {
    lastEventId = null;
    if (token) connect();
  });
  // Enabled only once the form is handled here: a submit before would be the browser's own.
  $('submit').disabled = false;
})();
`;

/**
 * `/realtime-demo`: a small page that logs in, takes a ticket and shows the caller's events
 * live over Server-Sent Events. `scripts/check-realtime-demo.sh` drives it in headless Chromium.
 */
export const demoRoutes: FastifyPluginAsync = async (app) => {
  app.get('/realtime-demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', DEMO_CSP).send(PAGE),
  );
  app.get('/realtime-demo/demo.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(SCRIPT),
  );
};
