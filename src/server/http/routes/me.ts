import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  authConfig,
  changeEmail,
  changePassword,
  errorBody,
  me as meSchema,
  sessionList,
  signupIntent,
  supportedLanguages,
  updateMe,
} from '../../../shared/api';
import type { AppContext } from '../../context';
import { EEA_AND_UK, minimumAgeFor } from '../../domain/auth/age';
import { SIGNUP_INTENT_COOKIE, signIntent } from '../../domain/auth/auth';
import { AVATAR_MAX_BYTES } from '../../domain/users/profile.service';
import { assertPasswordAllowed, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../domain/users/password-policy';
import { AppError } from '../../errors';
import { devMailboxEnabled } from '../../adapters/mail';
import { mayReadMailbox } from './dev-mailbox';
import { requireUser, webHeaders } from '../plugins/session';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 415: errorBody };

export const meRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const profile = ctx.services.profile;
  const sessions = ctx.services.sessions;

  // Profile photos arrive as the raw image body; the type is decided by content, not this header.
  app.addContentTypeParser(/^image\//, { parseAs: 'buffer', bodyLimit: AVATAR_MAX_BYTES }, (_req, body, done) => done(null, body));

  app.get(
    '/api/auth-config',
    { schema: { tags: ['account'], summary: 'Sign-in options of this installation', response: { 200: authConfig } } },
    async (req) => ({
      google: Boolean(ctx.config.GOOGLE_CLIENT_ID && ctx.config.GOOGLE_CLIENT_SECRET),
      languages: [...supportedLanguages],
      sixteenPlusRegions: [...EEA_AND_UK],
      passwordMinLength: PASSWORD_MIN_LENGTH,
      passwordMaxLength: PASSWORD_MAX_LENGTH,
      // offered only where it answers: on this machine
      devMailbox: devMailboxEnabled(ctx.config, ctx.mailer) && mayReadMailbox(req),
    }),
  );

  app.post(
    '/api/signup-intent',
    {
      schema: {
        tags: ['account'],
        summary: 'Confirm age and region before signing up with Google',
        body: signupIntent,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const intent = req.body;
      reply.setCookie(SIGNUP_INTENT_COOKIE, signIntent(ctx.config.SESSION_SECRET, intent), {
        path: '/api/auth',
        httpOnly: true,
        sameSite: 'lax',
        secure: ctx.config.PUBLIC_URL.startsWith('https://'),
        maxAge: 30 * 60,
      });
      req.log.info({ region: intent.region, minimumAge: minimumAgeFor(intent.region) }, 'sign-up intent');
      return reply.status(204).send(null);
    },
  );

  app.get('/api/me', { schema: { tags: ['account'], summary: 'The signed-in user', response: { 200: meSchema, ...errors } } }, async (req, reply) => {
    const s = await requireUser(ctx, req, reply);
    const [me, canClaimAdmin] = await Promise.all([profile.me(s.user.id), s.user.role === 'admin' ? false : ctx.services.setup.canClaimAdmin(s.user.id)]);
    return { ...me, canClaimAdmin };
  });

  app.patch(
    '/api/me',
    { schema: { tags: ['account'], summary: 'Update name, region or language', body: updateMe, response: { 200: meSchema, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return profile.update(s.user.id, req.body);
    },
  );

  app.put(
    '/api/me/photo',
    { schema: { tags: ['account'], summary: 'Upload a profile photo (JPEG, PNG, WebP or GIF; max 5 MB)', response: { 200: meSchema, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      if (!Buffer.isBuffer(req.body)) throw new AppError('unsupported_image', 'Send the image itself as the request body with an image/* content type.', 415);
      return profile.setPhoto(s.user.id, req.body);
    },
  );

  app.delete(
    '/api/me/photo',
    { schema: { tags: ['account'], summary: 'Remove the profile photo', response: { 200: meSchema, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return profile.removePhoto(s.user.id);
    },
  );

  app.get('/api/me/photo', { schema: { tags: ['account'], summary: 'The profile photo', hide: true } }, async (req, reply) => {
    const s = await requireUser(ctx, req, reply);
    const photo = await profile.photo(s.user.id);
    if (!photo) throw new AppError('not_found', 'No profile photo.', 404);
    if (req.headers['if-none-match'] === `"${photo.etag}"`) return reply.status(304).send();
    return reply.header('etag', `"${photo.etag}"`).header('cache-control', 'private, max-age=86400').type(photo.contentType).send(photo.content);
  });

  app.get(
    '/api/me/sessions',
    { schema: { tags: ['account'], summary: 'Your signed-in sessions', response: { 200: sessionList, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return { sessions: await sessions.list(s.user.id, s.sessionId) };
    },
  );

  app.delete(
    '/api/me/sessions/:id',
    {
      schema: {
        tags: ['account'],
        summary: 'Sign out one of your sessions',
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await sessions.revoke(s.user.id, req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/me/sessions/revoke-others',
    { schema: { tags: ['account'], summary: 'Sign out everywhere else', response: { 204: z.null(), ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await sessions.revokeOthers(s.user.id, s.sessionId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/me/password',
    {
      schema: {
        tags: ['account'],
        summary: 'Change your password (signs out every other session)',
        body: changePassword,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      // the policy first: it is cheap, and a refused password costs no password hash
      assertPasswordAllowed(req.body.newPassword, { email: s.user.email, name: s.user.name });
      if (req.body.newPassword.normalize('NFKC') === req.body.currentPassword.normalize('NFKC')) {
        throw new AppError('password_unchanged', 'The new password is the same as your current one. Choose a different one.', 400);
      }
      await profile.checkPassword(s.user.id, req.body.currentPassword);
      const { headers } = await ctx.auth.api.changePassword({
        body: { currentPassword: req.body.currentPassword, newPassword: req.body.newPassword, revokeOtherSessions: true },
        headers: webHeaders(req),
        returnHeaders: true,
      });
      const cookies = headers.getSetCookie();
      if (cookies.length) reply.header('set-cookie', cookies);
      await profile.notifyPasswordChanged(s.user.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/me/email',
    { schema: { tags: ['account'], summary: 'Change your email (confirmed from the new address)', body: changeEmail, response: { 202: z.null(), ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await profile.checkPassword(s.user.id, req.body.currentPassword);
      await profile.requestEmailChange(s.user.id, req.body.newEmail);
      return reply.status(202).send(null);
    },
  );

  app.get(
    '/api/me/email/confirm',
    { schema: { tags: ['account'], summary: 'Confirm an email change (link from the mail)', querystring: z.object({ token: z.string().min(20).max(200) }) } },
    async (req, reply) => {
      try {
        await profile.confirmEmailChange(req.query.token);
        return await reply.redirect('/sign-in?emailChanged=1', 303);
      } catch (err) {
        if (err instanceof AppError) return reply.redirect(`/account?error=${encodeURIComponent(err.code)}`, 303);
        throw err;
      }
    },
  );
};
