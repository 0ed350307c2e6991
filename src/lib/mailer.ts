import type { FastifyBaseLogger } from 'fastify';
import { createTransport, type Transporter } from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends mail over SMTP. Without `SMTP_URL` the mail is written to the log instead, so a
 * development setup works offline. Sending never blocks or fails the request that caused it.
 */
export class Mailer {
  private readonly transport: Transporter | null;
  private pending = new Set<Promise<void>>();

  constructor(
    smtpUrl: string | null,
    private readonly from: string,
    private readonly log: FastifyBaseLogger,
  ) {
    this.transport = smtpUrl === null ? null : createTransport(smtpUrl);
  }

  send(mail: Mail): void {
    const sending = this.deliver(mail).finally(() => this.pending.delete(sending));
    this.pending.add(sending);
  }

  private async deliver(mail: Mail): Promise<void> {
    if (this.transport === null) {
      this.log.info(
        { mail: { to: mail.to, subject: mail.subject, text: mail.text } },
        'mail not sent: SMTP_URL is not set',
      );
      return;
    }
    try {
      await this.transport.sendMail({ from: this.from, ...mail });
    } catch (error) {
      this.log.error({ err: error, to: mail.to, subject: mail.subject }, 'mail could not be sent');
    }
  }

  /** Resolves when every mail handed over so far has been sent (or has failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  close(): void {
    this.transport?.close();
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
