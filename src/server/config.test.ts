import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { configSchema, loadConfig, parseConfig } from './config';
import { StartupError } from './errors';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-config-'));

describe('config', () => {
  it('has embedded defaults that need no setting at all', () => {
    const c = parseConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.PUBLIC_URL).toBe('http://localhost:3000');
    expect(c.embeddedDatabase).toBe(true);
    expect(c.dataDir).toBe(path.resolve('./data'));
  });

  it('treats empty values as unset and trims a trailing slash of PUBLIC_URL', () => {
    const c = parseConfig({ PORT: '', DATABASE_URL: '  ', PUBLIC_URL: 'https://video.example.com/' });
    expect(c.PORT).toBe(3000);
    expect(c.embeddedDatabase).toBe(true);
    expect(c.PUBLIC_URL).toBe('https://video.example.com');
  });

  it.each([
    [{ PORT: 'abc' }, /^Invalid setting PORT: must be a whole number between 0 and 65535 \(got "abc"\)\.$/],
    [{ PORT: '70000' }, /^Invalid setting PORT: must be at most 65535/],
    [{ DATABASE_URL: 'mysql://x/y' }, /^Invalid setting DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ PUBLIC_URL: 'not a url' }, /^Invalid setting PUBLIC_URL: must be an absolute URL/],
    [{ LOG_LEVEL: 'loud' }, /^Invalid setting LOG_LEVEL:/],
    [{ TRUST_PROXY: 'maybe' }, /^Invalid setting TRUST_PROXY: must be true or false/],
  ])('rejects %o with one line naming the variable', (env, message) => {
    let error: unknown;
    try {
      parseConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('never echoes a secret value in its error', () => {
    expect(() => parseConfig({ SESSION_SECRET: 'short-secret' })).toThrow(
      /^Invalid setting SESSION_SECRET: must be at least 32 characters \(got "\*\*\*"\)\.$/,
    );
    expect(() => parseConfig({ SESSION_SECRET_PREVIOUS: `${'x'.repeat(40)},short` })).toThrow(
      /^Invalid setting SESSION_SECRET_PREVIOUS: must be a comma-separated list of secrets of at least 32 characters each \(got "\*\*\*"\)\.$/,
    );
    expect(parseConfig({ SESSION_SECRET_PREVIOUS: ` ${'a'.repeat(32)} , ${'b'.repeat(33)} ` }).SESSION_SECRET_PREVIOUS).toEqual([
      'a'.repeat(32),
      'b'.repeat(33),
    ]);
    expect(parseConfig({}).SESSION_SECRET_PREVIOUS).toEqual([]);
    expect(() => parseConfig({ DATABASE_URL: 'postgres://u:hunter2@db:5432/x', DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
  });

  it("hashes passwords at OWASP's scrypt cost unless told otherwise, and only tests may go below it", () => {
    expect(parseConfig({}).PASSWORD_HASH_LOG_N).toBe(17);
    expect(parseConfig({ NODE_ENV: 'production', PASSWORD_HASH_LOG_N: '18' }).PASSWORD_HASH_LOG_N).toBe(18);
    for (const NODE_ENV of ['production', 'development']) {
      expect(() => parseConfig({ NODE_ENV, PASSWORD_HASH_LOG_N: '16' })).toThrow(
        /^Invalid setting PASSWORD_HASH_LOG_N: must be at least 17 .* unless NODE_ENV=test\.$/,
      );
    }
    expect(parseConfig({ NODE_ENV: 'test', PASSWORD_HASH_LOG_N: '10' }).PASSWORD_HASH_LOG_N).toBe(10);
    expect(() => parseConfig({ NODE_ENV: 'test', PASSWORD_HASH_LOG_N: '9' })).toThrow(/^Invalid setting PASSWORD_HASH_LOG_N: must be at least 10/);
  });

  it('generates SESSION_SECRET once, persists it privately in DATA_DIR and reuses it', () => {
    const dir = tmp();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(first.SESSION_SECRET.length).toBeGreaterThanOrEqual(40);
    expect(second.SESSION_SECRET).toBe(first.SESSION_SECRET);
    const stat = fs.statSync(path.join(dir, 'secrets.json'));
    expect(stat.mode & 0o077).toBe(0);
    expect(loadConfig({ DATA_DIR: tmp() }).SESSION_SECRET).not.toBe(first.SESSION_SECRET);
  });

  it('prefers an explicit SESSION_SECRET and then writes nothing', () => {
    const dir = tmp();
    const c = loadConfig({ DATA_DIR: dir, SESSION_SECRET: 'x'.repeat(40) });
    expect(c.SESSION_SECRET).toBe('x'.repeat(40));
    expect(fs.existsSync(path.join(dir, 'secrets.json'))).toBe(false);
  });
});

describe('documentation', () => {
  it('the README configuration table lists every setting', () => {
    const readme = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8');
    const missing = Object.keys(configSchema.shape).filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });
});
