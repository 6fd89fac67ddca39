import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt at OWASP's recommended parameters (N=2^17, r=8, p=1), a random
 * 16-byte salt per password and a 64-byte key. Stored as
 * `$scrypt$ln=17,r=8,p=1$<salt base64url>$<key base64url>` so parameters can be raised later and
 * old hashes still verify.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** log2 of scrypt's N: OWASP's 17 unless PASSWORD_HASH_LOG_N says otherwise (config.ts keeps production at 17 or more) */
export const PASSWORD_HASH_LOG_N = 17;
const R = 8;
const P = 1;
const KEY_LENGTH = 64;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFKC'), salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

const maxmem = (logN: number, r: number) => 256 * 2 ** logN * r; // twice what scrypt needs

export async function hashPassword(password: string, logN = PASSWORD_HASH_LOG_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { N: 2 ** logN, r: R, p: P, maxmem: maxmem(logN, R) });
  return `$scrypt$ln=${logN},r=${R},p=${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return false;
  const [, lnText, rText, pText, saltText, keyText] = m;
  if (saltText === undefined || keyText === undefined) return false;
  const [logN, r, p] = [Number(lnText), Number(rText), Number(pText)];
  if (logN < 10 || logN > 22 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const expected = Buffer.from(keyText, 'base64url');
  const key = await scrypt(password, Buffer.from(saltText, 'base64url'), expected.length, { N: 2 ** logN, r, p, maxmem: maxmem(logN, r) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
