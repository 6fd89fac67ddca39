import type { Mailer } from '../adapters/mail/mailer';
import { renderEmail, type MailTemplateName, type MailTemplateVars } from './templates';

/** Render a template in the recipient's language (an unknown one falls back to English) and send it. */
export async function sendTemplateMail<N extends MailTemplateName>(
  mailer: Mailer,
  to: string,
  name: N,
  language: string,
  vars: MailTemplateVars[N],
): Promise<void> {
  await mailer.send({ to, ...renderEmail(name, language, vars) });
}
