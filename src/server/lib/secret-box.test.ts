import { describe, expect, it } from 'vitest';
import { createSecretBox, SecretBoxError } from './secret-box';

const master = 'a-session-secret-that-is-long-enough-0000';

describe('secret box (AES-256-GCM, key derived from SESSION_SECRET)', () => {
  it('seals to v1.<iv>.<ciphertext>.<tag> without the plaintext, and opens it again', () => {
    const box = createSecretBox(master, 'webhook-secrets');
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const sealed = box.seal(secret, 'ep_1');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toContain('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(box.open(sealed, 'ep_1')).toBe(secret);
    // a fresh IV every time
    expect(box.seal(secret, 'ep_1')).not.toBe(sealed);
  });

  it('refuses another key, another purpose, another context, and altered values', () => {
    const box = createSecretBox(master, 'webhook-secrets');
    const sealed = box.seal('whsec_abc', 'ep_1');
    expect(() => createSecretBox(`${master}x`, 'webhook-secrets').open(sealed, 'ep_1')).toThrow(SecretBoxError);
    expect(() => createSecretBox(master, 'other-purpose').open(sealed, 'ep_1')).toThrow(SecretBoxError);
    expect(() => box.open(sealed, 'ep_2')).toThrow(SecretBoxError);
    expect(() => box.open(sealed)).toThrow(SecretBoxError);
    const [v, iv, ct, tag] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open([v, iv, flipped.toString('base64url'), tag].join('.'), 'ep_1')).toThrow(SecretBoxError);
    expect(() => box.open('whsec_abc')).toThrow(SecretBoxError);
    expect(() => box.open(`v2.${iv}.${ct}.${tag}`, 'ep_1')).toThrow(SecretBoxError);
    expect(() => box.open(`v1.${iv}.${ct}.AAAA`, 'ep_1')).toThrow(SecretBoxError);
  });

  it('handles unicode and empty strings', () => {
    const box = createSecretBox(master, 'p');
    expect(box.open(box.seal(''))).toBe('');
    expect(box.open(box.seal('héllo ✓'))).toBe('héllo ✓');
  });

  it('rotation: seals with the current secret, opens with older ones, and reseal moves a value to the current key', () => {
    const old = createSecretBox(master, 'webhook-secrets');
    const sealedOld = old.seal('whsec_old', 'ep_1');
    const newMaster = 'a-newer-session-secret-long-enough-1111';
    const rotated = createSecretBox([newMaster, master], 'webhook-secrets');
    expect(rotated.open(sealedOld, 'ep_1')).toBe('whsec_old');
    // what the rotated box seals, only the new secret opens
    const sealedNew = rotated.seal('whsec_new', 'ep_2');
    expect(createSecretBox(newMaster, 'webhook-secrets').open(sealedNew, 'ep_2')).toBe('whsec_new');
    expect(() => old.open(sealedNew, 'ep_2')).toThrow(SecretBoxError);
    // reseal: null when already current; else a value the new secret alone opens
    expect(rotated.reseal(sealedNew, 'ep_2')).toBeNull();
    const moved = rotated.reseal(sealedOld, 'ep_1')!;
    expect(createSecretBox(newMaster, 'webhook-secrets').open(moved, 'ep_1')).toBe('whsec_old');
    // the context still binds across keys
    expect(() => rotated.open(sealedOld, 'ep_2')).toThrow(SecretBoxError);
    expect(() => rotated.reseal(sealedOld, 'ep_2')).toThrow(SecretBoxError);
    expect(() => createSecretBox([], 'p')).toThrow();
  });
});
