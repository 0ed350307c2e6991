import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  raw: string;
}

/**
 * A real SMTP server on loopback that keeps what it receives, for tests of outgoing mail.
 * Given a `port`, it listens there, so a test can stop it and start it again where clients
 * expect it.
 */
export async function startSmtpServer(port = 0): Promise<{
  url: string;
  port: number;
  inbox: ReceivedMail[];
  waitFor: (to: string, count?: number, timeoutMs?: number) => Promise<ReceivedMail[]>;
  close: () => Promise<void>;
}> {
  const inbox: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        inbox.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  server.listen(port, '127.0.0.1');
  await once(server.server, 'listening');
  const bound = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${bound}`,
    port: bound,
    inbox,
    async waitFor(to, count = 1, timeoutMs = 5_000) {
      for (const started = Date.now(); Date.now() - started < timeoutMs;) {
        const found = inbox.filter((mail) => mail.to.includes(to));
        if (found.length >= count) return found;
        await sleep(25);
      }
      throw new Error(`no mail for ${to} arrived`);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The token in the first link of a mail (quoted-printable soft breaks undone). */
export function tokenFromMail(mail: ReceivedMail): string {
  const body = mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const match = /\?token=([A-Za-z0-9_%-]+)/.exec(body);
  if (!match?.[1]) throw new Error('no link in the mail');
  return decodeURIComponent(match[1]);
}
