import { describe, expect, it } from 'vitest';
import { assertNotCommonPassword, isCommonPassword } from './common-passwords';

describe('common passwords', () => {
  it('knows the most common ones, in any case, and not good ones', () => {
    for (const p of ['password', 'PASSWORD', 'qwerty', 'letmein', 'iloveyou', '12345678', 'baseball', 'Football']) expect(isCommonPassword(p), p).toBe(true);
    for (const p of ['correct horse battery staple', 'Vq9#mZ2!pL', 'save sora rocks 42']) expect(isCommonPassword(p), p).toBe(false);
  });

  it('refuses with a clear error code', () => {
    expect(() => assertNotCommonPassword('sunshine')).toThrow(expect.objectContaining({ code: 'password_too_common', status: 400 }));
    expect(() => assertNotCommonPassword('a perfectly fine passphrase')).not.toThrow();
  });
});
