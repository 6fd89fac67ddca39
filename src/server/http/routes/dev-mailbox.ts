import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, mailboxList, mailboxMessage } from '../../../shared/api';
import { listOutbox, readOutbox } from '../../adapters/mail/outbox';
import { outboxDir } from '../../adapters/mail';
import type { AppContext } from '../../context';
import { AppError } from '../../errors';

/**
 * The development mailbox: what the outbox mailer "sent", for people running Save Sora without
 * SMTP. Registered only when not in production and no SMTP server is configured.
 */
export const devMailboxRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const dir = outboxDir(ctx.config.dataDir);
  app.get(
    '/api/dev/mailbox',
    { schema: { tags: ['development'], summary: 'Messages in the local outbox (development only)', querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }), response: { 200: mailboxList } } },
    async (req) => {
      const entries = await listOutbox(dir, { limit: req.query.limit, offset: 0 });
      return { messages: entries.map((e) => ({ id: e.id, to: e.to, subject: e.subject, date: e.date })) };
    },
  );
  app.get(
    '/api/dev/mailbox/:id',
    { schema: { tags: ['development'], summary: 'One message of the local outbox', params: z.object({ id: z.string().min(1).max(200) }), response: { 200: mailboxMessage, 404: errorBody } } },
    async (req) => {
      const m = await readOutbox(dir, req.params.id).catch(() => null);
      if (!m) throw new AppError('not_found', 'No such message.', 404);
      return { id: m.id, to: m.to, subject: m.subject, date: m.date, text: m.text, html: m.html };
    },
  );
};
