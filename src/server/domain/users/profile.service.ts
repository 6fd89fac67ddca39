import { createHash, randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { normalizeLanguage, type Language } from '../../../shared/api/account';
import type { Mailer } from '../../adapters/mail/mailer';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError } from '../../errors';
import { sendTemplateMail } from '../../mail/send';
import { deleteUserSessions } from '../auth/auth.repo';
import { createEmailRules } from '../abuse/email.service';
import { systemClock } from '../../adapters/clock';
import { verifyPassword } from './password';
import {
  deleteAvatar,
  findAvatar,
  findPasswordHash,
  findUserWithCredits,
  insertVerification,
  isEmailUsedByAnother,
  lockUserContact,
  setUserImage,
  setVerifiedEmail,
  takeVerification,
  updateProfileFields,
  upsertAvatar,
} from './users.repo';

export const AVATAR_MAX_BYTES = 5 * 1024 * 1024;
const AVATAR_SIZE = 256;
const ACCEPTED_IMAGE_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif']);

export interface MeView {
  id: string;
  email: string;
  name: string;
  image: string | null;
  emailVerified: boolean;
  role: 'user' | 'support' | 'moderator' | 'admin';
  status: 'active' | 'suspended' | 'terminated';
  region: string | null;
  language: Language;
  referralCode: string;
  referralLink: string;
  hasPassword: boolean;
  providers: string[];
  credits: number;
  createdAt: string;
}

export interface ProfileDeps {
  database: Database;
  mailer: Mailer;
  config: Pick<Config, 'PUBLIC_URL' | 'SUPPORT_EMAIL'>;
}

/**
 * Everything a signed-in user does to their own profile (sessions: sessions.service.ts). Every
 * method is scoped to `userId`.
 */
export function createProfileService({ database, mailer, config }: ProfileDeps) {
  const emailRules = createEmailRules({ database, clock: systemClock });
  async function me(userId: string): Promise<MeView> {
    const found = await findUserWithCredits(database, userId);
    if (!found) throw new AppError('unauthenticated', 'Sign in to continue.', 401);
    const { user: u, credits } = found;
    const providers = found.providers ?? [];
    return {
      id: u.id,
      email: u.email,
      name: u.name,
      image: u.image,
      emailVerified: u.emailVerified,
      role: u.role,
      status: u.status,
      region: u.region,
      language: normalizeLanguage(u.language),
      referralCode: u.referralCode,
      referralLink: `${config.PUBLIC_URL}/sign-up?ref=${encodeURIComponent(u.referralCode)}`,
      hasPassword: providers.includes('credential'),
      providers,
      credits: credits ?? 0,
      createdAt: u.createdAt.toISOString(),
    };
  }

  const send = sendTemplateMail.bind(null, mailer);

  return {
    me,

    async update(userId: string, patch: { name?: string | undefined; region?: string | undefined; language?: string | undefined }): Promise<MeView> {
      await updateProfileFields(database, userId, patch);
      return me(userId);
    },

    /** Validate by content (not by declared type), re-encode to a small WebP without metadata. */
    async setPhoto(userId: string, bytes: Buffer): Promise<MeView> {
      if (bytes.length === 0) throw new AppError('unsupported_image', 'The photo is empty.', 415);
      let meta: sharp.Metadata;
      try {
        meta = await sharp(bytes, { limitInputPixels: 40_000_000 }).metadata();
      } catch {
        throw new AppError('unsupported_image', 'That file is not an image we can read. Use a JPEG, PNG, WebP or GIF.', 415);
      }
      if (!ACCEPTED_IMAGE_FORMATS.has(meta.format)) {
        throw new AppError('unsupported_image', 'Use a JPEG, PNG, WebP or GIF image.', 415);
      }
      let webp: Buffer;
      try {
        webp = await sharp(bytes, { limitInputPixels: 40_000_000, animated: false })
          .rotate() // honour EXIF orientation, then drop all metadata (GPS included)
          .resize(AVATAR_SIZE, AVATAR_SIZE, { fit: 'cover', position: 'attention' })
          .webp({ quality: 82 })
          .toBuffer();
      } catch {
        // a valid header with broken image data
        throw new AppError('unsupported_image', 'That image is damaged and cannot be read. Try another file.', 415);
      }
      const etag = createHash('sha256').update(webp).digest('hex').slice(0, 16);
      await database.transaction(async (tx) => {
        await upsertAvatar(tx, userId, { content: webp, contentType: 'image/webp', etag });
        await setUserImage(tx, userId, `/api/me/photo?v=${etag}`);
      });
      return me(userId);
    },

    async removePhoto(userId: string): Promise<MeView> {
      await database.transaction(async (tx) => {
        await deleteAvatar(tx, userId);
        await setUserImage(tx, userId, null);
      });
      return me(userId);
    },

    async photo(userId: string): Promise<{ content: Buffer; contentType: string; etag: string } | null> {
      const row = await findAvatar(database, userId);
      // PGlite returns bytea as a Uint8Array, node-postgres as a Buffer
      return row ? { content: Buffer.from(row.content), contentType: row.contentType, etag: row.etag } : null;
    },

    async checkPassword(userId: string, password: string): Promise<void> {
      const hash = await findPasswordHash(database, userId);
      if (!hash) throw new AppError('password_required', 'This account signs in with Google and has no password. Set one with "Forgot password" first.', 400);
      if (!(await verifyPassword(password, hash))) throw new AppError('invalid_password', 'The current password is not correct.', 400);
    },

    async notifyPasswordChanged(userId: string): Promise<void> {
      const u = await me(userId);
      await send(u.email, 'password-changed', u.language, { name: u.name || u.email, when: new Date(), supportEmail: config.SUPPORT_EMAIL });
    },

    /**
     * Step 1 of an email change (after re-authentication): mail a single-use confirmation link to
     * the new address. Only the token's hash is stored.
     */
    async requestEmailChange(userId: string, newEmail: string): Promise<void> {
      const email = newEmail.trim();
      // disposable mail is refused here as at sign-up (issue 19)
      await emailRules.assertAllowed(email);
      if (await isEmailUsedByAnother(database, email, userId)) throw new AppError('email_taken', 'Another account already uses that email address.', 409);
      const token = randomBytes(32).toString('base64url');
      const identifier = `change-email:${createHash('sha256').update(token).digest('hex')}`;
      await insertVerification(database, identifier, JSON.stringify({ userId, newEmail: email }), 60);
      const u = await me(userId);
      const url = `${config.PUBLIC_URL}/api/me/email/confirm?token=${token}`;
      await send(email, 'verify-email', u.language, { name: u.name || u.email, url });
    },

    /** Step 2: the link was opened. Changes the email, tells the old address, ends other sessions. */
    async confirmEmailChange(token: string): Promise<{ userId: string }> {
      const identifier = `change-email:${createHash('sha256').update(token).digest('hex')}`;
      const result = await database.transaction(async (tx) => {
        const value = await takeVerification(tx, identifier);
        if (value === null) throw new AppError('invalid_token', 'This link has expired or was already used. Request the change again.', 400);
        const { userId, newEmail } = JSON.parse(value) as { userId: string; newEmail: string };
        const old = await lockUserContact(tx, userId);
        if (!old) throw new AppError('invalid_token', 'This link has expired or was already used.', 400);
        if (!(await setVerifiedEmail(tx, userId, newEmail))) throw new AppError('email_taken', 'Another account already uses that email address.', 409);
        await deleteUserSessions(tx, userId);
        return { userId, old, newEmail };
      });
      await send(result.old.email, 'email-changed', result.old.language, {
        name: result.old.name || result.old.email,
        oldEmail: result.old.email,
        newEmail: result.newEmail,
        when: new Date(),
        supportEmail: config.SUPPORT_EMAIL,
      });
      return { userId: result.userId };
    },
  };
}
export type ProfileService = ReturnType<typeof createProfileService>;
