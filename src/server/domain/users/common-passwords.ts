import fs from 'node:fs';
import { AppError } from '../../errors';
import { PASSWORD_MIN_LENGTH } from './password';

let list: Set<string> | null = null;

/** The 3,000 most common passwords (common-passwords.txt), loaded once on first use. */
function commonPasswords(): Set<string> {
  if (!list) {
    const text = fs.readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8');
    list = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')));
  }
  return list;
}

export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.trim().toLowerCase());
}

/**
 * Refuses a new password that is among the most common ones (any letter case). Shorter ones are
 * left to the length rule, whose message is the more useful one.
 */
export function assertNotCommonPassword(password: unknown): void {
  if (typeof password === 'string' && password.length >= PASSWORD_MIN_LENGTH && isCommonPassword(password)) {
    throw new AppError('password_too_common', 'This password is one of the most common ones and easy to guess. Choose another.', 400);
  }
}
