import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password';

describe('password hashing', () => {
  it('stores a salted scrypt hash at OWASP parameters, never the password', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse battery'), hashPassword('correct horse battery')]);
    expect(a).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(a).not.toContain('correct horse');
    expect(a).not.toBe(b); // a fresh salt each time
  });

  it('records a configured cost in the hash (PASSWORD_HASH_LOG_N), so hashes of every cost verify', async () => {
    const cheap = await hashPassword('cheap in tests only', 10);
    expect(cheap).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(await verifyPassword('cheap in tests only', cheap)).toBe(true);
    expect(await verifyPassword('cheap in tests onlY', cheap)).toBe(false);
  });

  it('verifies the right password and rejects wrong or malformed input', async () => {
    const stored = await hashPassword('pässwörd-ünïcode');
    expect(await verifyPassword('pässwörd-ünïcode', stored)).toBe(true);
    expect(await verifyPassword('pässwörd-ünïcodE', stored)).toBe(false);
    expect(await verifyPassword('pässwörd-ünïcode', 'plaintext')).toBe(false);
    expect(await verifyPassword('x', '$scrypt$ln=40,r=8,p=1$AAAA$AAAA')).toBe(false); // absurd cost refused
  });
});
