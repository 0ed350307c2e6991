/**
 * By hand (not part of `npm run bench`): `npx tsx bench/redis-outage.ts [--connections 4]
 * [--seconds 10]`. Starts a redis-server of its own and Docket on the embedded database
 * (or DATABASE_URL), then measures the request rate on a rate-limited route with Redis up,
 * with Redis killed halfway through a run, with Redis down, and after Redis is back, polling
 * readiness the whole time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freePort, killAll, startServer, withReadiness } from './process.js';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
  },
});
const connections = Number(flags.connections);
const seconds = Number(flags.seconds);
// Rate limited (the hook runs on every route but operations), and no database work, so the
// figure is about what Redis costs a request.
const PATH = '/api/v1/nothing-here';

const redisPort = await freePort();
let redis: ChildProcess | undefined;

async function startRedis(): Promise<void> {
  const child = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  redis = child;
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
}

async function killRedis(): Promise<void> {
  const child = redis;
  redis = undefined;
  if (!child) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

await startRedis();
const dataDir = mkdtempSync(join(tmpdir(), 'docket-redis-outage-'));
const port = await freePort();
const docket = await startServer({
  name: 'docket',
  command: process.execPath,
  args: ['--import', 'tsx', 'src/server.ts'],
  env: {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    RATE_LIMIT_MAX: '1000000',
  },
  port,
  readyPath: '/health/ready',
  timeoutMs: 120_000,
});
let logs = '';
docket.child.stdout?.on('data', (chunk: Buffer) => (logs += chunk.toString()));

/** Readiness answers while `run` lasts, by status and the Redis state it reports. */
function readinessDuring<T>(run: Promise<T>): Promise<[T, Record<string, number>]> {
  return withReadiness(docket.baseUrl, run, (status, body) => {
    const { redis } = JSON.parse(body) as { redis?: string };
    return `${status} ${redis}`;
  });
}

interface Phase {
  name: string;
  rate: number;
  non404: number;
  errors: number;
  readiness: Record<string, number>;
}

async function measure(name: string, during?: () => Promise<void>): Promise<Phase> {
  const instance = autocannon({
    url: docket.baseUrl + PATH,
    connections,
    duration: seconds,
    timeout: 5,
  });
  const midway = during ? sleep((seconds * 1000) / 2).then(during) : Promise.resolve();
  const [result, readiness] = await readinessDuring(Promise.resolve(instance));
  await midway;
  const counted = result.statusCodeStats?.['404']?.count ?? 0;
  return {
    name,
    rate: result.requests.total / result.duration,
    non404: result.requests.total - counted,
    errors: result.errors + result.timeouts,
    readiness,
  };
}

try {
  await measure('warm-up');
  const phases: Phase[] = [];
  phases.push(await measure('redis up'));
  phases.push(await measure('redis killed halfway', killRedis));
  phases.push(await measure('redis down'));
  await startRedis();
  const reconnected = Date.now();
  for (;;) {
    const metrics = await (await fetch(`${docket.baseUrl}/metrics`)).text();
    if (/^docket_redis_up 1$/m.test(metrics)) break;
    if (Date.now() - reconnected > 30_000) throw new Error('Docket did not reconnect to Redis');
    await sleep(50);
  }
  phases.push(await measure('redis back'));

  const up = phases[0]?.rate ?? 1;
  console.log(`${connections} connections, ${seconds} s per phase, GET ${PATH}`);
  for (const phase of phases) {
    console.log(
      `${phase.name.padEnd(22)} ${phase.rate.toFixed(0).padStart(7)} req/s  ` +
        `${((phase.rate / up) * 100).toFixed(1).padStart(6)} %  ` +
        `non-404 ${phase.non404}  errors ${phase.errors}  readiness ${JSON.stringify(phase.readiness)}`,
    );
  }
  const metrics = await (await fetch(`${docket.baseUrl}/metrics`)).text();
  console.log(
    metrics
      .split('\n')
      .filter((line) => line.startsWith('docket_'))
      .join('\n'),
  );
  const outageLines = logs.split('\n').filter((line) => line.includes('redis unavailable'));
  console.log(`"redis unavailable" log lines: ${outageLines.length}`);
  for (const line of outageLines) {
    const entry = JSON.parse(line) as { time: number; err?: { message?: string } };
    console.log(`  ${new Date(entry.time).toISOString()} ${entry.err?.message ?? ''}`);
  }
} finally {
  await docket.stop();
  await killRedis();
  killAll();
  rmSync(dataDir, { recursive: true, force: true });
}
