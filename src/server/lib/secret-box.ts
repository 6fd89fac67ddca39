import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption at rest for small secrets we must be able to read back (privacy policy 8), e.g. the
 * signing secrets of customer webhooks: AES-256-GCM with a key derived by HKDF-SHA256 from
 * SESSION_SECRET (one key per `purpose`, so the same master secret never keys two uses).
 *
 * Sealed format: `v1.<iv b64url>.<ciphertext b64url>.<tag b64url>` (12-byte random IV, 16-byte tag).
 * An optional `context` (e.g. the row id) is bound as additional authenticated data: a sealed value
 * copied to another row does not open there.
 *
 * Rotation: the box takes the current master secret and, after it, older ones (SESSION_SECRET,
 * then SESSION_SECRET_PREVIOUS). It seals with the current one and opens with any; `reseal` moves
 * a value onto the current key, so the old secret can be dropped afterwards.
 */
export interface SecretBox {
  seal(plaintext: string, context?: string): string;
  /** throws SecretBoxError when the value is malformed, was sealed with another key or context, or was altered */
  open(sealed: string, context?: string): string;
  /** the value sealed again with the current key, or null when it already is (throws like `open`) */
  reseal(sealed: string, context?: string): string | null;
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function deriveKey(masterSecret: string, purpose: string): Buffer {
  if (masterSecret.length < 16) throw new Error('secret-box: the master secret is too short');
  return Buffer.from(hkdfSync('sha256', Buffer.from(masterSecret, 'utf8'), Buffer.from('save-sora/secret-box', 'utf8'), Buffer.from(purpose, 'utf8'), 32));
}

export function createSecretBox(masterSecrets: string | readonly string[], purpose: string): SecretBox {
  const list = typeof masterSecrets === 'string' ? [masterSecrets] : masterSecrets;
  const [first] = list;
  if (first === undefined) throw new Error('secret-box: no master secret');
  // the first key seals; any of them opens
  const sealingKey = deriveKey(first, purpose);
  const keys = [sealingKey, ...list.slice(1).map((m) => deriveKey(m, purpose))];
  const aad = (context: string | undefined) => Buffer.from(`${VERSION}|${context ?? ''}`, 'utf8');

  /** the plaintext and the index of the key that opened it */
  function openWithAny(sealed: string, context: string | undefined): { plaintext: string; keyIndex: number } {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed secret');
    const [, ivText, ctText, tagText] = parts as [string, string, string, string];
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('not a sealed secret');
    for (const [keyIndex, key] of keys.entries()) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(context));
        decipher.setAuthTag(tag);
        const plaintext = Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]).toString('utf8');
        return { plaintext, keyIndex };
      } catch {
        // not this key: try the next one
      }
    }
    throw new SecretBoxError('the secret could not be decrypted (wrong key or context, or altered)');
  }

  const box: SecretBox = {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealingKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(context));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, context) {
      return openWithAny(sealed, context).plaintext;
    },
    reseal(sealed, context) {
      const { plaintext, keyIndex } = openWithAny(sealed, context);
      return keyIndex === 0 ? null : box.seal(plaintext, context);
    },
  };
  return box;
}
