import path from 'node:path';
import type { Config } from '../../config';
import type { Mailer } from './mailer';
import { createOutboxMailer } from './outbox';
import { createSmtpMailer } from './smtp';

export type { Mailer, OutgoingMail, SentMail } from './mailer';
export { MailError } from './mailer';
export { createOutboxMailer, listOutbox, readOutbox, type OutboxEntry, type OutboxMessage } from './outbox';
export { createSmtpMailer } from './smtp';

export interface MailerOptions {
  /** SMTP_URL; when unset, mail goes to the outbox in the data directory */
  smtpUrl?: string | undefined;
  /** MAIL_FROM */
  from: string;
  /** the absolute DATA_DIR */
  dataDir: string;
}

/** Where the outbox mailer writes (and the dev mailbox reads): `DATA_DIR/outbox`. */
export const outboxDir = (dataDir: string): string => path.join(dataDir, 'outbox');

/** SMTP when SMTP_URL is set, otherwise the outbox in DATA_DIR. */
export function createMailer({ smtpUrl, from, dataDir }: MailerOptions): Mailer {
  return smtpUrl ? createSmtpMailer({ url: smtpUrl, from }) : createOutboxMailer({ dir: outboxDir(dataDir), from });
}

/** The development mailbox (/dev/mailbox): outside production, when mail goes to the outbox folder. */
export function devMailboxEnabled(config: Pick<Config, 'NODE_ENV'>, mailer: Pick<Mailer, 'kind'>): boolean {
  return config.NODE_ENV !== 'production' && mailer.kind === 'outbox';
}
