import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** What the receiver does with a request; the default answers 204. */
export type Responder = (request: Received, response: ServerResponse) => void | Promise<void>;

/** A real HTTP receiver on loopback that keeps every request it gets. */
export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Requests to `path`, once at least `count` have come (else it throws after `timeoutMs`). */
  waitFor(path: string, count?: number, timeoutMs?: number): Promise<Received[]>;
  /** How requests to `path` are answered from now on. */
  on(path: string, responder: Responder): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const responders = new Map<string, Responder>();
  const server = http.createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: Received = {
        path: request.url ?? '/',
        headers: Object.fromEntries(
          Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
        ),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(entry);
      const responder = responders.get(entry.path);
      if (responder === undefined) {
        response.writeHead(204).end();
        return;
      }
      void Promise.resolve(responder(entry, response)).catch(() => response.destroy());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    async waitFor(path, count = 1, timeoutMs = 15_000) {
      for (const started = Date.now(); Date.now() - started < timeoutMs;) {
        const found = received.filter((entry) => entry.path === path);
        if (found.length >= count) return found;
        await sleep(25);
      }
      const got = received.filter((entry) => entry.path === path).length;
      throw new Error(`${path}: ${got} of ${count} requests arrived`);
    },
    on(path, responder) {
      responders.set(path, responder);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
