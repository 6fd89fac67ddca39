import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, mailboxList, mailboxMessage } from '../../../shared/api';
import { listOutbox, readOutbox } from '../../adapters/mail/outbox';
import { outboxDir } from '../../adapters/mail';
import type { AppContext } from '../../context';
import { AppError } from '../../errors';
import { isLoopbackAddress, isLoopbackHost } from '../../lib/loopback';

/**
 * Who may read the development mailbox: a request made on this machine. The connection must come
 * from loopback AND the client address as the app sees it (X-Forwarded-For under TRUST_PROXY) must
 * be loopback, so neither a remote visitor behind a local proxy nor a direct caller who forges
 * X-Forwarded-For gets in; and the Host header must name this machine, so a web page that rebinds
 * its own domain to 127.0.0.1 cannot read it through the visitor's browser.
 */
export function mayReadMailbox(req: { ip: string; socket: { remoteAddress?: string | undefined }; headers: { host?: string | undefined } }): boolean {
  return isLoopbackAddress(req.socket.remoteAddress) && isLoopbackAddress(req.ip) && isLoopbackHost(req.headers.host);
}

/**
 * The development mailbox: what the outbox mailer "sent", for people running Save Sora without
 * SMTP. Registered only when not in production and no SMTP server is configured, and it answers
 * only requests from this machine (mayReadMailbox): its mail holds password-reset links.
 */
export const devMailboxRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const dir = outboxDir(ctx.config.dataDir);
  app.addHook('onRequest', async (req) => {
    if (!mayReadMailbox(req)) {
      throw new AppError(
        'mailbox_local_only',
        'The development mailbox can only be read on the machine that runs Save Sora (open it through http://localhost).',
        403,
      );
    }
  });
  app.get(
    '/api/dev/mailbox',
    {
      schema: {
        tags: ['development'],
        summary: 'Messages in the local outbox (development only)',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
        response: { 200: mailboxList },
      },
    },
    async (req) => {
      const entries = await listOutbox(dir, { limit: req.query.limit, offset: 0 });
      return { messages: entries.map((e) => ({ id: e.id, to: e.to, subject: e.subject, date: e.date })) };
    },
  );
  app.get(
    '/api/dev/mailbox/:id',
    {
      schema: {
        tags: ['development'],
        summary: 'One message of the local outbox',
        params: z.object({ id: z.string().min(1).max(200) }),
        response: { 200: mailboxMessage, 404: errorBody },
      },
    },
    async (req) => {
      const m = await readOutbox(dir, req.params.id).catch(() => null);
      if (!m) throw new AppError('not_found', 'No such message.', 404);
      return { id: m.id, to: m.to, subject: m.subject, date: m.date, text: m.text, html: m.html };
    },
  );
};
