import { AppError } from '../../errors';
import { isBreachedPassword } from './breached-passwords';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password';

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password';
export { warmPasswordList } from './breached-passwords';

/**
 * The one password policy, applied wherever a new password is set (sign-up, reset, change, the
 * CLI). It follows NIST SP 800-63B: a length range, no composition rules ("needs a digit"), and a
 * check against passwords known from breaches and against what anyone knows about the account
 * (its email, its name, this service's name). Lengths count Unicode code points after NFKC, the
 * form the password is hashed in.
 */

export type PasswordProblemCode = 'invalid_request' | 'password_too_short' | 'password_too_long' | 'password_too_common' | 'password_contains_personal_info';

export interface PasswordProblem {
  code: PasswordProblemCode;
  message: string;
}

export interface PasswordOwner {
  email?: string | null;
  name?: string | null;
}

export interface CheckPasswordOptions {
  /** the breached-list lookup; the server's list by default (a client can pass its own, or none) */
  isBreached?: ((password: string) => boolean) | null;
}

/** The email's local part and the name are refused inside a password from this many characters on. */
const PERSONAL_MIN_LENGTH = 4;

const fold = (s: string) => s.normalize('NFKC').toLowerCase();

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** What someone guessing the password tries first: the email, its local part and the name (folded). */
function personalParts(who: PasswordOwner): { kind: 'email' | 'name'; text: string }[] {
  const parts: { kind: 'email' | 'name'; text: string }[] = [];
  const email = typeof who.email === 'string' ? fold(who.email.trim()) : '';
  if (email) {
    parts.push({ kind: 'email', text: email });
    const at = email.lastIndexOf('@');
    if (at > 0 && codePoints(email.slice(0, at)) >= PERSONAL_MIN_LENGTH) parts.push({ kind: 'email', text: email.slice(0, at) });
  }
  const name = typeof who.name === 'string' ? fold(who.name.trim()) : '';
  if (codePoints(name) >= PERSONAL_MIN_LENGTH) parts.push({ kind: 'name', text: name });
  return parts;
}

/** The service's own name, with or without a space, dot, dash or underscore between the words. */
const SERVICE_NAME = /save[\s._-]*sora/u;

/**
 * The first rule `password` breaks, or null when it may be used. Pure apart from the breached-list
 * lookup (loaded on first use; see `warmPasswordList`).
 */
export function checkPassword(password: unknown, who: PasswordOwner = {}, opts: CheckPasswordOptions = {}): PasswordProblem | null {
  if (typeof password !== 'string') return { code: 'invalid_request', message: 'Enter a password.' };
  const normal = password.normalize('NFKC');
  const length = codePoints(normal);
  if (length < PASSWORD_MIN_LENGTH) {
    return {
      code: 'password_too_short',
      message: `Use at least ${PASSWORD_MIN_LENGTH} characters for your password. A few unrelated words make a strong one.`,
    };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { code: 'password_too_long', message: `Use at most ${PASSWORD_MAX_LENGTH} characters for your password.` };
  }
  const folded = fold(normal);
  if (SERVICE_NAME.test(folded)) {
    return { code: 'password_contains_personal_info', message: 'Your password must not contain the name of this service (Save Sora). Choose another one.' };
  }
  const personal = personalParts(who).find((p) => folded.includes(p.text));
  if (personal) {
    return {
      code: 'password_contains_personal_info',
      message:
        personal.kind === 'email'
          ? 'Your password must not contain your email address or a part of it. Choose another one.'
          : 'Your password must not contain your name. Choose another one.',
    };
  }
  const isBreached = opts.isBreached === undefined ? isBreachedPassword : opts.isBreached;
  if (isBreached?.(normal)) {
    return {
      code: 'password_too_common',
      message: 'This password is in lists of leaked passwords that attackers try first. Choose another one; a few unrelated words work well.',
    };
  }
  return null;
}

/** Throws AppError 400 with the problem's code and message when `password` breaks the policy. */
export function assertPasswordAllowed(password: unknown, who?: PasswordOwner): void {
  const problem = checkPassword(password, who ?? {});
  if (problem) throw new AppError(problem.code, problem.message, 400);
}
