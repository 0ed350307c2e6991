import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export interface WsClient {
  socket: WebSocket;
  messages: Record<string, unknown>[];
  closed: { code: number; reason: string } | null;
  send(message: unknown): void;
  until(check: () => boolean, what: string, boundMs?: number): Promise<void>;
  ofOp(op: string): Record<string, unknown>[];
}

/** Opens a WebSocket; resolves once open, or with the HTTP status that refused the upgrade. */
export function openWs(
  url: string,
  headers: Record<string, string> = {},
): Promise<WsClient | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const client: WsClient = {
      socket,
      messages: [],
      closed: null,
      send: (message) =>
        socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
      async until(check, what, boundMs = 30_000) {
        const start = Date.now();
        while (!check()) {
          if (Date.now() - start > boundMs) throw new Error(`never happened: ${what}`);
          await sleep(10);
        }
      },
      ofOp: (op) => client.messages.filter((message) => message.op === op),
    };
    socket.on('message', (data: Buffer) => {
      client.messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
    });
    socket.on('close', (code, reason) => {
      client.closed = { code, reason: reason.toString() };
    });
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => {
      if (socket.readyState === WebSocket.CONNECTING) reject(error);
    });
  });
}

export function isOpen(value: Awaited<ReturnType<typeof openWs>>): value is WsClient {
  return 'socket' in value;
}
