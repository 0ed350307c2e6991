import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const SERVER_ENTRY = ['--import', 'tsx', 'src/server.ts'];
export const WORKER_ENTRY = ['--import', 'tsx', 'src/worker.ts'];

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  output: () => string;
  exit: Promise<number | null>;
}

/** Starts the real server entry point as a child process, as `npm start` would. */
export function startServer(
  env: Record<string, string>,
  port: number,
  entry: string[] = SERVER_ENTRY,
): ServerProcess {
  const child = spawn(process.execPath, entry, {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, output: () => output, exit };
}

/** Starts the worker entry point (`npm run worker`) as a child process; it serves no HTTP. */
export function startWorker(env: Record<string, string>): ServerProcess {
  return startServer(env, 0, WORKER_ENTRY);
}

/** Polls readiness until it answers 200; returns how long that took. */
export async function waitUntilReady(server: ServerProcess, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (server.child.exitCode !== null) throw new Error(`server exited early:\n${server.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/health/ready`);
      if (response.status === 200) return Date.now() - started;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`server not ready after ${timeoutMs} ms:\n${server.output()}`);
}
