import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends mail over SMTP. Without `SMTP_URL` the mail is written to the log instead, so a
 * development setup works offline. Nothing calls it from a request: mail is queued (see
 * `jobs/mail.ts`) and a worker hands it over here, retrying while the SMTP server is away.
 */
export class Mailer {
  /** Made on the first mail: the SMTP client's modules load only in a process that sends. */
  private transport: Promise<Transporter> | null = null;

  constructor(
    private readonly smtpUrl: string | null,
    private readonly from: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Hands the mail to the SMTP server; rejects when it is not accepted, so the caller retries. */
  async deliver(mail: Mail): Promise<void> {
    if (this.smtpUrl === null) {
      this.log.info(
        { mail: { to: mail.to, subject: mail.subject, text: mail.text } },
        'mail not sent: SMTP_URL is not set',
      );
      return;
    }
    const smtpUrl = this.smtpUrl;
    // A CommonJS package: its exports are the namespace's `default`, in Node and in the bundle.
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport(smtpUrl),
    );
    const transport = await this.transport;
    await transport.sendMail({ from: this.from, ...mail });
  }

  close(): void {
    void this.transport?.then((transport) => transport.close());
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
