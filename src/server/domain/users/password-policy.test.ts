import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { breachedListSize, buildBreachedHashes, fnv1a64, isBreachedPassword, warmPasswordList } from './breached-passwords';
import { assertPasswordAllowed, checkPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy';

const codeOf = (password: unknown, who?: { email?: string | null; name?: string | null }) => checkPassword(password, who)?.code ?? null;

describe('password policy: the breached list', () => {
  it('refuses passwords from breaches in any letter case, and the same typed in full-width letters', () => {
    for (const p of [
      'password123',
      'qwerty123',
      'iloveyou1',
      'Password123',
      'PASSWORD123',
      'pAsSwOrD123',
      'QWERTY123',
      'ILoveYou1',
      'ｐａｓｓｗｏｒｄ１２３',
      ' password123 ',
    ]) {
      expect(codeOf(p), p).toBe('password_too_common');
    }
  });

  it('refuses with AppError 400, a stable code and a message a person can act on', () => {
    let thrown: unknown;
    try {
      assertPasswordAllowed('Password123');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'AppError', code: 'password_too_common', status: 400 });
    expect((thrown as Error).message).toMatch(/leaked passwords.*Choose another/);
  });

  it('accepts a long random passphrase and a made-up phrase; asks for no digits or symbols', () => {
    const random = randomBytes(24).toString('base64url');
    for (const p of [random, 'velvet tractor orbits seven lanterns', 'a secret phrase 77', 'correct horse battery staple zebra', 'onlylowercaseletters']) {
      expect(checkPassword(p), p).toBeNull();
      expect(() => assertPasswordAllowed(p)).not.toThrow();
    }
  });

  it('holds at least 100,000 entries, loaded from the package and looked up by hash', () => {
    expect(breachedListSize()).toBeGreaterThanOrEqual(100_000);
    expect(isBreachedPassword('baseball1')).toBe(true);
    expect(isBreachedPassword('velvet tractor orbits seven lanterns')).toBe(false);
  });

  it('hashes with FNV-1a 64 (the published test vectors)', () => {
    const hex = (s: string) => {
      const out = new Uint32Array(2);
      fnv1a64(new TextEncoder().encode(s), 0, Buffer.byteLength(s), false, out, 0);
      return new BigUint64Array(out.buffer)[0]!.toString(16).padStart(16, '0');
    };
    expect(hex('')).toBe('cbf29ce484222325');
    expect(hex('a')).toBe('af63dc4c8601ec8c');
    expect(hex('foobar')).toBe('85944171f73967e8');
  });

  it('builds the list from lines: lower case, NFKC, de-duplicated, CRLF tolerated, short entries left out', () => {
    const file = new TextEncoder().encode(
      ['short', 'Sunshine1', 'sunshine1', 'SUNSHINE1\r', 'ｆｏｏｔｂａｌｌ９', '', 'trailing-line-without-newline'].join('\n'),
    );
    const list = buildBreachedHashes(file, 8);
    expect(list.count).toBe(3); // sunshine1 (three spellings), football9, the last line
    const keys = new BigUint64Array(list.words.buffer);
    expect([...keys]).toEqual([...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  });

  it('can be loaded in the background before the first check', async () => {
    const first = warmPasswordList();
    expect(warmPasswordList()).toBe(first);
    await first;
    expect(codeOf('iloveyou1')).toBe('password_too_common');
  });
});

describe('password policy: length', () => {
  it(`counts ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} Unicode code points after NFKC`, () => {
    expect(codeOf('zq8#Lm2')).toBe('password_too_short'); // 7
    expect(codeOf('zq8#Lm2v')).toBeNull(); // 8
    expect(codeOf('🦊🌵🎈🚲')).toBe('password_too_short'); // 8 UTF-16 units, 4 code points
    expect(codeOf('🦊🌵🎈🚲🦊🌵🎈🚲')).toBeNull(); // 8 code points
    expect(codeOf('e\u0301'.repeat(4))).toBe('password_too_short'); // 8 code points typed, 4 after NFKC (é)
    expect(codeOf('\ufb01\ufb02\ufb00\ufb01')).toBeNull(); // 4 ligatures (fi fl ff fi), 8 after NFKC
    expect(codeOf('zq8#Lm2v'.repeat(16))).toBeNull(); // 128
    expect(codeOf(`${'zq8#Lm2v'.repeat(16)}x`)).toBe('password_too_long'); // 129
    expect(() => assertPasswordAllowed('short')).toThrow(expect.objectContaining({ code: 'password_too_short', status: 400 }));
  });

  it('refuses anything but a string as an invalid request', () => {
    for (const p of [undefined, null, 12345678, ['long enough phrase'], { password: 'long enough phrase' }]) {
      expect(codeOf(p), JSON.stringify(p)).toBe('invalid_request');
    }
    expect(() => assertPasswordAllowed(undefined)).toThrow(expect.objectContaining({ code: 'invalid_request', status: 400 }));
  });
});

describe('password policy: personal information', () => {
  const ada = { email: 'Ada.Lovelace@Example.com', name: 'Ada Lovelace' };

  it('refuses the email, its local part or the name inside the password, in any case', () => {
    expect(codeOf('ada.lovelace@example.com', ada)).toBe('password_contains_personal_info');
    expect(codeOf('ADA.LOVELACE@EXAMPLE.COM!', ada)).toBe('password_contains_personal_info');
    expect(codeOf('my ada.lovelace key', ada)).toBe('password_contains_personal_info');
    expect(codeOf('i am Ada Lovelace', ada)).toBe('password_contains_personal_info');
    expect(checkPassword('i am Ada Lovelace', ada)?.message).toMatch(/your name/);
    expect(checkPassword('my ada.lovelace key', ada)?.message).toMatch(/email/);
    // without the owner, the same passwords are fine
    expect(codeOf('my ada.lovelace key')).toBeNull();
  });

  it('ignores a local part or name shorter than 4 characters, but not the whole email', () => {
    const bo = { email: 'bo@example.com', name: 'Bo' };
    expect(codeOf('bo and the bobcats', bo)).toBeNull();
    expect(codeOf('write to bo@example.com', bo)).toBe('password_contains_personal_info');
    expect(codeOf('dear anna of the fields', { name: 'Anna' })).toBe('password_contains_personal_info');
    expect(codeOf('dear ann of the fields', { name: 'Ann' })).toBeNull();
  });

  it("refuses the service's own name", () => {
    for (const p of ['savesora2024', 'I love Save Sora', 'save-sora rocks', 'SAVE_SORA_PASS']) expect(codeOf(p), p).toBe('password_contains_personal_info');
  });

  it('takes null or missing owner details', () => {
    expect(codeOf('a secret phrase 77', { email: null, name: null })).toBeNull();
    expect(() => assertPasswordAllowed('a secret phrase 77', {})).not.toThrow();
  });
});
