/*
 * `/realtime-demo` in a real browser: headless Chromium (Debian: `apt-get install chromium`;
 * CHROMIUM=<path> for another) logs in through the page, which takes a ticket and opens an
 * EventSource; a task created through the API must show up in the page's log. Driven over the
 * DevTools protocol with the `ws` client, so no browser automation package is needed. Skipped
 * when no Chromium is installed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { createProject, createTask } from '../helpers/projects.js';

const CHROMIUM =
  process.env.CHROMIUM ??
  ['chromium', 'chromium-browser', 'google-chrome'].find(
    (name) => spawnSync('which', [name]).status === 0,
  );
if (CHROMIUM === undefined)
  console.warn('No Chromium found: the /realtime-demo browser check is skipped');

let t: TestApp | undefined;
let browser: ChildProcess | undefined;
const profile = mkdtempSync(join(tmpdir(), 'docket-chromium-'));

afterAll(async () => {
  browser?.kill('SIGKILL');
  await t?.close();
  rmSync(profile, { recursive: true, force: true });
});

/** Starts headless Chromium and returns the DevTools address it prints. */
async function startChromium(path: string): Promise<string> {
  browser = spawn(
    path,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    browser?.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /DevTools listening on ws:\/\/([^/]+)\//.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    browser?.once('exit', (code) => reject(new Error(`chromium exited ${code}: ${output}`)));
  });
}

/** A DevTools session on the browser's first page: `evaluate` runs an expression there. */
async function pageSession(host: string) {
  const targets = (await (await fetch(`http://${host}/json/list`)).json()) as {
    type: string;
    webSocketDebuggerUrl: string;
  }[];
  const page = targets.find((target) => target.type === 'page');
  if (!page) throw new Error('no page target');
  const socket = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const send = (method: string, params: object) =>
    new Promise<unknown>((resolve) => {
      nextId += 1;
      waiting.set(nextId, resolve);
      socket.send(JSON.stringify({ id: nextId, method, params }));
    });
  return {
    navigate: (url: string) => send('Page.navigate', { url }),
    async evaluate(expression: string): Promise<unknown> {
      const result = (await send('Runtime.evaluate', { expression, returnByValue: true })) as {
        result?: { value?: unknown };
      };
      return result.result?.value;
    },
    close: () => socket.close(),
  };
}

async function until(
  check: () => Promise<boolean>,
  what: string,
  state: () => Promise<unknown> = async () => '',
): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > 150_000) {
      throw new Error(`never happened: ${what}; page: ${JSON.stringify(await state())}`);
    }
    await sleep(100);
  }
}

describe.skipIf(CHROMIUM === undefined)('/realtime-demo in headless Chromium', () => {
  it('when a user logs in on the page, then a task created elsewhere appears in its log', async () => {
    t = await createTestApp();
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const user = await createUser(t.app);
    const projectId = await createProject(t.app, user, { name: 'Demo' });
    const page = await pageSession(await startChromium(CHROMIUM ?? ''));

    await page.navigate(`${base}/realtime-demo`);
    await until(
      // The page enables its button once its script handles the form.
      async () => (await page.evaluate('document.getElementById("submit")?.disabled')) === false,
      'the page loads',
    );
    await page.evaluate(`
      document.getElementById('email').value = ${JSON.stringify(user.user.email)};
      document.getElementById('password').value = ${JSON.stringify(DEFAULT_PASSWORD)};
      document.getElementById('login').requestSubmit();`);
    await until(
      async () => (await page.evaluate('document.body.dataset.status')) === 'live',
      'the page’s stream is live',
      () => page.evaluate('document.body.innerText'),
    );
    const task = await createTask(t.app, projectId, user, { title: 'Seen in the browser' });
    await until(
      async () =>
        String(await page.evaluate('document.getElementById("log").textContent')).includes(task.id),
      'the task in the page log',
    );
    const log = String(await page.evaluate('document.getElementById("log").textContent'));
    expect(log).toContain('task.created');
    expect(log).toContain('Seen in the browser');
    page.close();
  }, 400_000);
});
