import { createHash, randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { normalizeLanguage, type Language } from '../../../shared/api/account';
import type { Mailer } from '../../adapters/mail/mailer';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError } from '../../errors';
import { sendTemplateMail } from '../../mail/send';
import { verifyPassword } from './password';

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

/** "203.0.113.7" -> "203.0.113.x", IPv6 keeps its first three groups. */
export function maskIp(ip: string | null): string | null {
  if (!ip) return null;
  if (ip.includes('.') && !ip.includes(':')) return ip.replace(/\.\d+$/, '.x');
  const v4 = /::ffff:(\d+\.\d+\.\d+)\.\d+$/i.exec(ip);
  if (v4) return `${v4[1]}.x`;
  return `${ip.split(':').slice(0, 3).join(':')}:…`;
}

export interface ProfileDeps {
  database: Database;
  mailer: Mailer;
  config: Pick<Config, 'PUBLIC_URL' | 'SUPPORT_EMAIL'>;
}

/** Everything a signed-in user does to their own account. Every method is scoped to `userId`. */
export function createProfileService({ database, mailer, config }: ProfileDeps) {
  const sql = database.sql;

  async function me(userId: string): Promise<MeView> {
    const [u] = await sql.query<{
      id: string;
      email: string;
      name: string;
      image: string | null;
      email_verified: boolean;
      role: MeView['role'];
      status: MeView['status'];
      region: string | null;
      language: string;
      referral_code: string;
      created_at: Date | string;
      credits: string | number | null;
      providers: string[] | null;
    }>(
      `select u.*, b.balance as credits,
              (select array_agg(a.provider_id order by a.provider_id) from accounts a where a.user_id = u.id) as providers
         from users u left join credit_balances b on b.user_id = u.id
        where u.id = $1`,
      [userId],
    );
    if (!u) throw new AppError('unauthenticated', 'Sign in to continue.', 401);
    const providers = u.providers ?? [];
    return {
      id: u.id,
      email: u.email,
      name: u.name,
      image: u.image,
      emailVerified: u.email_verified,
      role: u.role,
      status: u.status,
      region: u.region,
      language: normalizeLanguage(u.language),
      referralCode: u.referral_code,
      referralLink: `${config.PUBLIC_URL}/sign-up?ref=${encodeURIComponent(u.referral_code)}`,
      hasPassword: providers.includes('credential'),
      providers,
      credits: Number(u.credits ?? 0),
      createdAt: new Date(u.created_at).toISOString(),
    };
  }

  async function passwordHash(userId: string): Promise<string | null> {
    const [a] = await sql.query<{ password: string | null }>(`select password from accounts where user_id = $1 and provider_id = 'credential'`, [userId]);
    return a?.password ?? null;
  }

  const send = sendTemplateMail.bind(null, mailer);

  return {
    me,

    async update(userId: string, patch: { name?: string | undefined; region?: string | undefined; language?: string | undefined }): Promise<MeView> {
      await sql.query(
        `update users set name = coalesce($2, name), region = coalesce($3, region), language = coalesce($4, language), updated_at = now() where id = $1`,
        [userId, patch.name ?? null, patch.region ?? null, patch.language ?? null],
      );
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
      if (!meta.format || !ACCEPTED_IMAGE_FORMATS.has(meta.format)) {
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
        await tx.sql.query(
          `insert into user_avatars (user_id, content, content_type, etag) values ($1, $2, 'image/webp', $3)
           on conflict (user_id) do update set content = excluded.content, content_type = excluded.content_type, etag = excluded.etag, updated_at = now()`,
          [userId, webp, etag],
        );
        await tx.sql.query(`update users set image = $2, updated_at = now() where id = $1`, [userId, `/api/me/photo?v=${etag}`]);
      });
      return me(userId);
    },

    async removePhoto(userId: string): Promise<MeView> {
      await database.transaction(async (tx) => {
        await tx.sql.query('delete from user_avatars where user_id = $1', [userId]);
        await tx.sql.query('update users set image = null, updated_at = now() where id = $1', [userId]);
      });
      return me(userId);
    },

    async photo(userId: string): Promise<{ content: Buffer; contentType: string; etag: string } | null> {
      const [row] = await sql.query<{ content: Buffer | Uint8Array; content_type: string; etag: string }>(
        'select content, content_type, etag from user_avatars where user_id = $1',
        [userId],
      );
      return row ? { content: Buffer.from(row.content), contentType: row.content_type, etag: row.etag } : null;
    },

    async sessions(userId: string, currentSessionId: string) {
      const rows = await sql.query<{
        id: string;
        device_type: string | null;
        browser: string | null;
        os: string | null;
        region: string | null;
        ip_address: string | null;
        created_at: Date | string;
        last_seen_at: Date | string;
      }>(
        `select id, device_type, browser, os, region, ip_address, created_at, last_seen_at from sessions
          where user_id = $1 and expires_at > now() order by last_seen_at desc`,
        [userId],
      );
      return rows.map((r) => ({
        id: r.id,
        current: r.id === currentSessionId,
        deviceType: r.device_type,
        browser: r.browser,
        os: r.os,
        region: r.region,
        ip: maskIp(r.ip_address),
        createdAt: new Date(r.created_at).toISOString(),
        lastSeenAt: new Date(r.last_seen_at).toISOString(),
      }));
    },

    /** Revokes one of the user's own sessions; another user's session id is "not found". */
    async revokeSession(userId: string, sessionId: string): Promise<void> {
      const rows = await sql.query('delete from sessions where id = $1 and user_id = $2 returning id', [sessionId, userId]);
      if (!rows.length) throw new AppError('not_found', 'That session does not exist or has already ended.', 404);
    },

    async revokeOtherSessions(userId: string, keepSessionId: string | null): Promise<number> {
      const rows = await sql.query('delete from sessions where user_id = $1 and id is distinct from $2 returning id', [userId, keepSessionId]);
      return rows.length;
    },

    async checkPassword(userId: string, password: string): Promise<void> {
      const hash = await passwordHash(userId);
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
      const taken = await sql.query('select 1 from users where lower(email) = lower($1) and id <> $2', [email, userId]);
      if (taken.length) throw new AppError('email_taken', 'Another account already uses that email address.', 409);
      const token = randomBytes(32).toString('base64url');
      const identifier = `change-email:${createHash('sha256').update(token).digest('hex')}`;
      await sql.query(
        `insert into verifications (id, identifier, value, expires_at) values (gen_random_uuid()::text, $1, $2, now() + interval '1 hour')`,
        [identifier, JSON.stringify({ userId, newEmail: email })],
      );
      const u = await me(userId);
      const url = `${config.PUBLIC_URL}/api/me/email/confirm?token=${token}`;
      await send(email, 'verify-email', u.language, { name: u.name || u.email, url });
    },

    /** Step 2: the link was opened. Changes the email, tells the old address, ends other sessions. */
    async confirmEmailChange(token: string): Promise<{ userId: string }> {
      const identifier = `change-email:${createHash('sha256').update(token).digest('hex')}`;
      const result = await database.transaction(async (tx) => {
        const [v] = await tx.sql.query<{ value: string }>(
          'delete from verifications where identifier = $1 and expires_at > now() returning value',
          [identifier],
        );
        if (!v) throw new AppError('invalid_token', 'This link has expired or was already used. Request the change again.', 400);
        const { userId, newEmail } = JSON.parse(v.value) as { userId: string; newEmail: string };
        const [old] = await tx.sql.query<{ email: string; name: string; language: string }>('select email, name, language from users where id = $1 for update', [userId]);
        if (!old) throw new AppError('invalid_token', 'This link has expired or was already used.', 400);
        try {
          await tx.sql.query('update users set email = $2, email_verified = true, updated_at = now() where id = $1', [userId, newEmail]);
        } catch (err) {
          if ((err as { code?: string }).code === '23505') throw new AppError('email_taken', 'Another account already uses that email address.', 409);
          throw err;
        }
        await tx.sql.query('delete from sessions where user_id = $1', [userId]);
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
