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
 * development setup works offline. Nothing calls it from a request: mail is queued (see
 * `jobs/mail.ts`) and a worker hands it over here, retrying while the SMTP server is away.
 */
export class Mailer {
  private readonly transport: Transporter | null;

  constructor(
    smtpUrl: string | null,
    private readonly from: string,
    private readonly log: FastifyBaseLogger,
  ) {
    this.transport = smtpUrl === null ? null : createTransport(smtpUrl);
  }

  /** Hands the mail to the SMTP server; rejects when it is not accepted, so the caller retries. */
  async deliver(mail: Mail): Promise<void> {
    if (this.transport === null) {
      this.log.info(
        { mail: { to: mail.to, subject: mail.subject, text: mail.text } },
        'mail not sent: SMTP_URL is not set',
      );
      return;
    }
    await this.transport.sendMail({ from: this.from, ...mail });
  }

  close(): void {
    this.transport?.close();
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
