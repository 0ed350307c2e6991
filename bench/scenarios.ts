import autocannon, { type Request, type Result } from 'autocannon';

export interface Measurement {
  /** Successful (2xx) responses per second: the throughput the bench quotes. */
  rps: number;
  /** All responses per second, whatever their status. */
  allRps: number;
  p50: number;
  p99: number;
  ok: number;
  /** 3xx answers (a conditional scenario's 304s). */
  threeXx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  seconds: number;
  /** True when the responses are mostly not 2xx: the figures are then not throughput. */
  failed: boolean;
  /** Server CPU milliseconds per answer, where measured. */
  cpuMsPerRequest?: number;
  /** CPU milliseconds of every PostgreSQL process per answer, where measured. */
  dbCpuMsPerRequest?: number;
}

export interface LoadSpec {
  connections: number;
  duration: number;
  requests: Request[];
}

/** Runs autocannon against loopback and boils its result down to what the report prints. */
export async function drive(baseUrl: string, spec: LoadSpec): Promise<Measurement> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(baseUrl)) {
    throw new Error(`the bench only sends traffic to 127.0.0.1 (got ${baseUrl})`);
  }
  const instance = autocannon({
    url: baseUrl,
    connections: spec.connections,
    duration: spec.duration,
    timeout: 10,
    requests: spec.requests,
  });
  const result: Result = await instance;
  return summarise(result);
}

function summarise(result: Result): Measurement {
  const seconds = Math.max(result.duration, 0.001);
  const ok = result['2xx'];
  const all = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = stats.count;
  }
  const bad = result.non2xx + result.errors + result.timeouts;
  return {
    rps: ok / seconds,
    allRps: all / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok,
    threeXx: result['3xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    seconds,
    failed: ok === 0 || bad > ok,
  };
}

/** One request, for checking a scenario answers before it is timed. */
export async function probe(baseUrl: string, request: Request): Promise<number> {
  const prepared = request.setupRequest ? request.setupRequest({ ...request }, {}) : request;
  try {
    const response = await fetch(baseUrl + (prepared.path ?? '/'), {
      method: prepared.method ?? 'GET',
      headers: prepared.headers,
      body: prepared.body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** A request whose path (and body) change on every call, rotating through a pool. */
export function rotating(
  base: Request,
  count: number,
  build: (i: number) => { path: string; body?: string },
): Request {
  let i = Math.floor(Math.random() * Math.max(count, 1));
  return {
    ...base,
    setupRequest: (request) => {
      i = (i + 1) % Math.max(count, 1);
      const { path, body } = build(i);
      return body === undefined ? { ...request, path } : { ...request, path, body };
    },
  };
}

/** Weighted choice between requests on each call (for the mixed scenario). */
export function weighted(choices: { weight: number; request: Request }[]): Request {
  const total = choices.reduce((sum, c) => sum + c.weight, 0);
  let n = 0;
  return {
    method: 'GET',
    setupRequest: (request) => {
      // A fixed cycle rather than random draws, so short runs hold the exact proportions.
      let slot = n++ % total;
      for (const choice of choices) {
        if (slot < choice.weight) {
          const chosen = choice.request;
          const base = { ...request, ...chosen, setupRequest: undefined };
          return chosen.setupRequest ? chosen.setupRequest(base, {}) : base;
        }
        slot -= choice.weight;
      }
      return request;
    },
  };
}

const middle = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
};

/**
 * The median of repeated runs: req/s, p50 and p99 each their own median (lower middle for an
 * even count); counts from the run whose req/s is the median.
 */
export function medianOf(runs: Measurement[]): Measurement {
  const rps = middle(runs.map((m) => m.rps));
  const base = runs.find((m) => m.rps === rps) ?? runs[0];
  if (base === undefined) throw new Error('no runs to take the median of');
  return {
    ...base,
    allRps: middle(runs.map((m) => m.allRps)),
    ...(runs.every((m) => m.cpuMsPerRequest !== undefined)
      ? { cpuMsPerRequest: middle(runs.map((m) => m.cpuMsPerRequest ?? 0)) }
      : {}),
    ...(runs.every((m) => m.dbCpuMsPerRequest !== undefined)
      ? { dbCpuMsPerRequest: middle(runs.map((m) => m.dbCpuMsPerRequest ?? 0)) }
      : {}),
    p50: middle(runs.map((m) => m.p50)),
    p99: middle(runs.map((m) => m.p99)),
    failed: runs.some((m) => m.failed),
  };
}
