import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import {
  checkUrlShape,
  ForbiddenTarget,
  type GuardPolicy,
  type HostResolver,
  resolveTarget,
} from './ssrf-guard.js';

/** More of a receiver's answer than this is never read. */
export const RESPONSE_READ_LIMIT = 64 * 1024;

export interface OutboundRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Aborts the attempt (the job's expiry or a shutdown). */
  signal?: AbortSignal;
}

export interface OutboundResult {
  /** The receiver's status, or null when no answer came. */
  statusCode: number | null;
  durationMs: number;
  /** What went wrong, or null on a 2xx. */
  error: string | null;
  /** The receiver's `Retry-After`, in seconds, when it sent one. */
  retryAfterSeconds: number | null;
}

export interface WebhookSenderOptions {
  policy: GuardPolicy;
  timeoutMs: number;
  userAgent: string;
  resolve: HostResolver;
}

// Connections are reused per checked address (the agents key them by IP, port and SNI name).
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });

/** `Retry-After` as seconds: a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  if (/^\d{1,10}$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * One POST to a webhook receiver: checks the URL, resolves its host once, checks every address
 * and connects to the checked one (TLS still verifies the host name). Follows no redirect,
 * reads at most 64 KiB of the answer, and gives the whole attempt `timeoutMs`. Never throws:
 * every failure is a result.
 */
export class WebhookSender {
  readonly #options: WebhookSenderOptions;

  constructor(options: WebhookSenderOptions) {
    this.#options = options;
  }

  async send(request: OutboundRequest): Promise<OutboundResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    try {
      const checked = checkUrlShape(request.url, this.#options.policy);
      const address = await resolveTarget(checked, this.#options.policy, this.#options.resolve);
      signal.throwIfAborted();
      const answer = await this.#post(checked.url, checked.hostname, address, checked.port, {
        ...request,
        signal,
      });
      const { statusCode } = answer;
      let error: string | null = null;
      if (statusCode >= 300 && statusCode < 400) {
        error = `redirect ${statusCode} not followed`;
      } else if (statusCode < 200 || statusCode >= 300) {
        error = `HTTP ${statusCode}`;
      }
      return {
        statusCode,
        durationMs: elapsed(),
        error,
        retryAfterSeconds: parseRetryAfter(answer.retryAfter),
      };
    } catch (error) {
      return {
        statusCode: null,
        durationMs: elapsed(),
        error: describe(error, timeout.aborted, this.#options.timeoutMs),
        retryAfterSeconds: null,
      };
    }
  }

  #post(
    url: URL,
    hostname: string,
    address: string,
    port: number,
    request: OutboundRequest & { signal: AbortSignal },
  ): Promise<{ statusCode: number; retryAfter: string | undefined }> {
    const secure = url.protocol === 'https:';
    const body = Buffer.from(request.body);
    return new Promise((resolve, reject) => {
      const outgoing = (secure ? https : http).request(
        {
          host: address,
          port,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          agent: secure ? httpsAgent : httpAgent,
          signal: request.signal,
          // The certificate is checked against the name, not the address connected to.
          ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
          headers: {
            ...request.headers,
            host: url.host,
            'user-agent': this.#options.userAgent,
            'content-type': 'application/json',
            'content-length': String(body.length),
          },
        },
        (response) => {
          let read = 0;
          const done = (): void => {
            resolve({
              statusCode: response.statusCode ?? 0,
              retryAfter: response.headers['retry-after'],
            });
          };
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read >= RESPONSE_READ_LIMIT) {
              response.destroy();
              done();
            }
          });
          response.on('end', done);
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}

function describe(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  if (error instanceof ForbiddenTarget) return `refused: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return (code ? `${code}: ${error.message}` : error.message).slice(0, 500);
  }
  return String(error).slice(0, 500);
}
