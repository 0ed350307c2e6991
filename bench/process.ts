import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every child the bench starts, so that any way out of the run stops them. */
const children = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the servers`);
      killAll();
      process.exit(130);
    });
  }
  process.once('uncaughtException', (error) => {
    console.error(error);
    killAll();
    process.exit(1);
  });
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Started {
  child: ChildProcess;
  pid: number;
  baseUrl: string;
  /** Milliseconds from spawn to the first successful answer of the ready URL. */
  readyMs: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  readyPath: string;
  timeoutMs?: number;
}

/** Spawns a server listening on 127.0.0.1 and polls `readyPath` until it answers 200. */
export async function startServer(options: StartOptions): Promise<Started> {
  hookExit();
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const started = performance.now();
  const child = spawn(options.command, options.args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const deadline = started + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      throw new Error(`${options.name} exited during start-up:\n${output}`);
    }
    try {
      const response = await fetch(baseUrl + options.readyPath, {
        signal: AbortSignal.timeout(1000),
      });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      children.delete(child);
      throw new Error(
        `${options.name} was not ready within ${options.timeoutMs ?? 30_000} ms:\n${output}`,
      );
    }
    await sleep(10);
  }
  const readyMs = performance.now() - started;
  if (child.pid === undefined) throw new Error(`${options.name} has no pid`);

  return {
    child,
    pid: child.pid,
    baseUrl,
    readyMs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) {
        children.delete(child);
        return;
      }
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
    },
  };
}

/** The V8 flags `npm start` gives Node (package.json), so the bench runs Docket as it ships. */
export function startFlags(): string[] {
  return startCommand().filter((word) => word.startsWith('--'));
}

/** The environment `npm start` sets for Node: its `NAME=value` words before `node`. */
export function startEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of startCommand()) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
    if (match === null) break;
    env[match[1] as string] = match[2] as string;
  }
  return env;
}

function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.split(/\s+/);
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS), or null if gone. */
export function readRss(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU time the process has used (user + system), in milliseconds: per request, a figure that
 * holds on a machine shared with other work, where req/s follows whoever else is running.
 */
export function readCpuMs(pid: number): number | null {
  return cpuMsOf(`/proc/${pid}/stat`);
}

/** CPU time used so far by each process named `name` (e.g. `postgres`), by pid, in ms. */
export function readCpuMsOfAll(name: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== name) continue;
    } catch {
      continue;
    }
    const ms = cpuMsOf(`/proc/${entry}/stat`);
    if (ms !== null) byPid.set(Number(entry), ms);
  }
  return byPid;
}

/**
 * CPU time the processes of two `readCpuMsOfAll` readings used in between: each process's
 * difference, and all of the time of a process started in between. A process that exited in
 * between takes its time with it (the bench's pools keep their connections, so little is lost),
 * which can make the figure low but never negative. `null` when there was no such process.
 */
export function cpuMsBetween(
  before: Map<number, number>,
  after: Map<number, number>,
): number | null {
  if (after.size === 0) return null;
  let total = 0;
  for (const [pid, ms] of after) {
    const earlier = before.get(pid) ?? 0;
    // A pid reused by a new process reads less than the old one did: all of it is new.
    total += ms >= earlier ? ms - earlier : ms;
  }
  return total;
}

function cpuMsOf(file: string): number | null {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    // Linux reports them in clock ticks of 1/100 s on every common configuration.
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}

export interface RssSummary {
  peak: number;
  first: number;
  last: number;
  samples: number;
  series: number[];
}

/** Samples a process's RSS every `intervalMs` until stopped. */
export class RssSampler {
  private readonly series: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const rss = readRss(this.pid);
    if (rss !== null) this.series.push(rss);
  }

  stop(): RssSummary {
    clearInterval(this.timer);
    this.sample();
    const series = this.series;
    return {
      peak: series.length ? Math.max(...series) : 0,
      first: series[0] ?? 0,
      last: series[series.length - 1] ?? 0,
      samples: series.length,
      series,
    };
  }
}

/**
 * Polls `${baseUrl}/health/ready` every 200 ms while `run` lasts; returns `run`'s result and
 * how often each answer came back, keyed by `key` (by default the status).
 */
export async function withReadiness<T>(
  baseUrl: string,
  run: Promise<T>,
  key: (status: number, body: string) => string = (status) => String(status),
): Promise<[T, Record<string, number>]> {
  const seen: Record<string, number> = {};
  let done = false;
  const polling = (async () => {
    while (!done) {
      try {
        const response = await fetch(`${baseUrl}/health/ready`, {
          signal: AbortSignal.timeout(5_000),
        });
        const seenAs = key(response.status, await response.text());
        seen[seenAs] = (seen[seenAs] ?? 0) + 1;
      } catch {
        seen.failed = (seen.failed ?? 0) + 1;
      }
      await sleep(200);
    }
  })();
  const result = await run;
  done = true;
  await polling;
  return [result, seen];
}
