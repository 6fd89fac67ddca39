import { createRequire } from 'node:module';

// a CommonJS module whose exports Node cannot name statically (its types declare them as named exports)
const MailChecker = createRequire(import.meta.url)('mailchecker') as typeof import('mailchecker');

/**
 * Email rules for abuse checks (issue 19, ADR 19): the canonical form of an address (one mailbox,
 * one form) and the disposable-mail check. Pure functions; the operator's own additions to the list
 * come from the database (email.repo.ts) and are passed in.
 *
 * The canonical form is only ever used to compare addresses (free credits once per mailbox, a
 * terminated account's address coming back); the account keeps the address as the person typed it.
 */

/** Google: dots are ignored and `+tag` is dropped; googlemail.com is the same mailbox as gmail.com. */
const GOOGLE = new Set(['gmail.com', 'googlemail.com']);

/**
 * Providers that deliver `local+tag@` to `local@` (sub-addressing), where the tag is dropped: the big
 * consumer providers that document it (Microsoft's Outlook.com family, Apple iCloud, Proton,
 * Fastmail, Yandex, HEY). Not Yahoo: its throwaway addresses use `-` and are made on the owner's
 * request, and `-` is an ordinary character there. Elsewhere `+` may be part of a real, different
 * mailbox, so it stays. Dots are dropped only at Gmail, the one provider that ignores them.
 */
const PLUS_TAG_PROVIDERS = new Set([
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'proton.me',
  'protonmail.com',
  'protonmail.ch',
  'pm.me',
  'fastmail.com',
  'yandex.ru',
  'yandex.com',
  'hey.com',
]);

/** The part after the last `@`, lower case, without a trailing dot; null when there is none. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1) return null;
  return email
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .replace(/\.+$/, '');
}

/**
 * The address canonicalised for abuse checks: lower case; Gmail dots and `+tag` dropped and
 * googlemail.com read as gmail.com; `+tag` dropped on the providers in PLUS_TAG_PROVIDERS.
 */
export function canonicalEmail(email: string): string {
  const trimmed = email.trim().toLowerCase();
  const at = trimmed.lastIndexOf('@');
  if (at < 1) return trimmed;
  let local = trimmed.slice(0, at);
  let domain = trimmed.slice(at + 1).replace(/\.+$/, '');
  if (GOOGLE.has(domain)) {
    domain = 'gmail.com';
    local = (local.split('+')[0] ?? '').replace(/\./g, '');
  } else if (PLUS_TAG_PROVIDERS.has(domain)) {
    local = local.split('+')[0] ?? '';
  }
  // an address that is only a tag (`+x@gmail.com`) keeps what it had rather than becoming empty
  if (!local) local = trimmed.slice(0, at);
  return `${local}@${domain}`;
}

/** The domain and each parent domain: `a.b.example.com` → `a.b.example.com`, `b.example.com`, `example.com`, `com`. */
export function domainSuffixes(domain: string): string[] {
  const parts = domain.split('.').filter(Boolean);
  return parts.map((_, i) => parts.slice(i).join('.'));
}

const maintained: ReadonlySet<string> = MailChecker.blacklist();

/** True when the domain, or a domain it is under, is on the maintained disposable-mail list (mailchecker). */
export function isListedDisposable(domain: string): boolean {
  return domainSuffixes(domain.toLowerCase()).some((d) => maintained.has(d));
}

/** How many domains the maintained list holds (for the console and the CLI). */
export function maintainedListSize(): number {
  return maintained.size;
}

/**
 * An operator's domain as it is stored: lower case, without a leading `@` or `*.`; null when it is
 * not a plausible domain name (letters, digits, hyphens, at least one dot, at most 253 characters).
 */
export function normalizeDomain(input: string): string | null {
  const d = input.trim().toLowerCase().replace(/^@/, '').replace(/^\*\./, '').replace(/\.+$/, '');
  if (d.length < 3 || d.length > 253) return null;
  if (!/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(d)) return null;
  if (!/[a-z]/.test(d.slice(d.lastIndexOf('.') + 1))) return null;
  return d;
}

/** A canonical address as an operator may see it: the first character of the mailbox, then dots (`j•••@gmail.com`). */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${email.slice(0, 1)}•••@${email.slice(at + 1)}`;
}
