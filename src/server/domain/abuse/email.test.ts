import { describe, expect, it } from 'vitest';
import { canonicalEmail, domainSuffixes, emailDomain, isListedDisposable, maskEmail, normalizeDomain } from './email';

describe('canonicalEmail', () => {
  it('lower-cases; Gmail drops dots and +tags and reads googlemail.com as gmail.com', () => {
    for (const v of [
      'Jane.Doe@gmail.com',
      'janedoe@gmail.com',
      'j.a.n.e.d.o.e@GMAIL.COM',
      'janedoe+promo@gmail.com',
      'jane.doe+a+b@googlemail.com',
      ' JaneDoe@GoogleMail.com ',
    ]) {
      expect(canonicalEmail(v), v).toBe('janedoe@gmail.com');
    }
  });

  it('drops +tags at the providers that deliver them to the same mailbox, keeping dots', () => {
    expect(canonicalEmail('Jane.Doe+shop@outlook.com')).toBe('jane.doe@outlook.com');
    expect(canonicalEmail('jane+x@hotmail.com')).toBe('jane@hotmail.com');
    expect(canonicalEmail('jane+x@icloud.com')).toBe('jane@icloud.com');
    expect(canonicalEmail('jane+x@proton.me')).toBe('jane@proton.me');
    expect(canonicalEmail('jane+x@fastmail.com')).toBe('jane@fastmail.com');
  });

  it('keeps +, - and dots elsewhere (they may be a different mailbox)', () => {
    expect(canonicalEmail('Jane.Doe+team@example.com')).toBe('jane.doe+team@example.com');
    expect(canonicalEmail('jane-shop@yahoo.com')).toBe('jane-shop@yahoo.com');
    expect(canonicalEmail('j.doe@yahoo.com')).toBe('j.doe@yahoo.com');
  });

  it('never turns an address into an empty mailbox', () => {
    expect(canonicalEmail('+x@gmail.com')).toBe('+x@gmail.com');
    expect(canonicalEmail('no-at-sign')).toBe('no-at-sign');
  });
});

describe('the disposable-mail list', () => {
  it('refuses listed domains and their subdomains, and not ordinary ones', () => {
    for (const d of ['mailinator.com', 'MAILINATOR.com', 'inbox.mailinator.com', 'a.b.yopmail.com', 'guerrillamail.com'])
      expect(isListedDisposable(d), d).toBe(true);
    for (const d of ['gmail.com', 'outlook.com', 'example.com', 'mailinator.com.example', 'mailinator.example']) expect(isListedDisposable(d), d).toBe(false);
  });

  it('reads the domain of an address and its parents', () => {
    expect(emailDomain('x@Sub.Example.COM.')).toBe('sub.example.com');
    expect(emailDomain('nodomain@')).toBeNull();
    expect(domainSuffixes('a.b.example.com')).toEqual(['a.b.example.com', 'b.example.com', 'example.com', 'com']);
  });

  it("normalises an operator's domain, and refuses what is not one", () => {
    expect(normalizeDomain(' @TempMail.Example ')).toBe('tempmail.example');
    expect(normalizeDomain('*.tempmail.example.')).toBe('tempmail.example');
    for (const bad of ['localhost', 'not a domain', 'a\u0000b.example', '-x.example', 'x'.repeat(254), 'x.123', ''])
      expect(normalizeDomain(bad), bad).toBeNull();
  });

  it('masks an address for operators', () => {
    expect(maskEmail('janedoe@gmail.com')).toBe('j•••@gmail.com');
  });
});
