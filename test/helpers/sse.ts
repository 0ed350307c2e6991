import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body when the answer was not a stream (an error). */
  body: () => string;
  events: SseEvent[];
  comments: string[];
  retry: number | null;
  ended: boolean;
  /** Waits until `check` holds; the generous bound only ends a broken test. */
  until(check: () => boolean, what: string, boundMs?: number): Promise<void>;
  close(): void;
}

/** Opens an SSE stream with a plain HTTP client and parses what arrives. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } });
    req.once('error', reject);
    req.once('response', (res: IncomingMessage) => {
      let raw = '';
      let pending = '';
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: () => raw,
        events: [],
        comments: [],
        retry: null,
        ended: false,
        async until(check, what, boundMs = 30_000) {
          const start = Date.now();
          while (!check()) {
            if (Date.now() - start > boundMs) throw new Error(`never happened: ${what}`);
            await sleep(10);
          }
        },
        close() {
          req.destroy();
        },
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        pending += chunk;
        let cut: number;
        while ((cut = pending.indexOf('\n\n')) !== -1) {
          const block = pending.slice(0, cut);
          pending = pending.slice(cut + 2);
          const event: SseEvent = { id: undefined, event: 'message', data: '' };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) client.comments.push(line.slice(1).trim());
            else if (line.startsWith('retry: ')) client.retry = Number(line.slice(7));
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) {
              event.data = line.slice(6);
              isEvent = true;
            }
          }
          if (isEvent) client.events.push(event);
        }
      });
      const done = () => {
        client.ended = true;
      };
      res.once('end', done);
      res.once('close', done);
      res.once('error', done);
      resolve(client);
    });
    req.end();
  });
}
