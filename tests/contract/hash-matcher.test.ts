import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashListMatcher, parseHashList, type ImportHashList } from '../../src/server/adapters/moderation/hash-matcher';
import { ClassifierUnavailableError, type HashMatcher, type ImageInput } from '../../src/server/adapters/moderation/moderation';
import { AppError } from '../../src/server/errors';
import { generatedImage, reencodedImage, removeGeneratedImages } from './moderation-images';

/**
 * The HashMatcher contract, run against every implementation in `cases`: known-bad files found by
 * their exact bytes (SHA-256) and by what they look like (PDQ within a Hamming distance), after
 * re-encoding and resizing; unrelated pictures not found; lists imported in the formats hash-sharing
 * programmes deliver, a malformed line refused with its line number. Pictures are ffmpeg's synthetic
 * test patterns.
 */
interface ImportableMatcher extends HashMatcher {
  importList(list: ImportHashList): unknown;
  removeList(name: string): boolean;
}

const cases: { name: string; create(): ImportableMatcher }[] = [{ name: 'hash-lists', create: () => new HashListMatcher() }];

type Image = ImageInput & { file: string };
let original: Image;
let smallJpeg: Image;
let webp: Image;
let otherPattern: Image;
let fractal: Image;
let flat: Image;

beforeAll(async () => {
  original = await generatedImage('testsrc2=size=640x480', 'png');
  smallJpeg = await reencodedImage(original, 'jpg', { vf: 'scale=320:240', quality: 10 });
  webp = await reencodedImage(original, 'webp', { vf: 'scale=800:600', quality: 40 });
  otherPattern = await generatedImage('testsrc=size=640x480', 'png');
  fractal = await generatedImage('mandelbrot=size=640x480', 'jpg');
  flat = await generatedImage('color=c=0x3060a0:size=320x240', 'png');
});
afterAll(removeGeneratedImages);

const sha256 = (image: ImageInput) => createHash('sha256').update(image.bytes).digest('hex');

describe.each(cases)('HashMatcher contract: $name', (c) => {
  let matcher: ImportableMatcher;
  beforeAll(() => {
    matcher = c.create();
  });

  it('gives the SHA-256 of the bytes and a 256-bit perceptual hash', async () => {
    const hashes = await matcher.hashesOf(original);
    expect(hashes.sha256).toBe(sha256(original));
    expect(hashes.pdq).toMatch(/^[0-9a-f]{64}$/);
    // stable for the same picture
    expect(await matcher.hashesOf({ bytes: original.bytes.slice(), mime: original.mime })).toEqual(hashes);
  });

  it('finds a file listed by SHA-256, byte for byte, with the list, its category and the label', async () => {
    matcher.importList({ name: 'exact', category: 'sexual/minors', format: 'csv', content: `hash,kind,label\n${sha256(smallJpeg)},sha256,case 0042\n` });
    try {
      const matches = await matcher.match(smallJpeg);
      expect(matches).toContainEqual({ list: 'exact', category: 'sexual/minors', kind: 'sha256', hash: sha256(smallJpeg), distance: 0, label: 'case 0042' });
      // the same picture re-encoded is other bytes: no exact match
      expect((await matcher.match(webp)).filter((m) => m.kind === 'sha256')).toEqual([]);
    } finally {
      matcher.removeList('exact');
    }
  });

  it('finds a listed picture again after re-encoding and resizing (JPEG, WebP) within the PDQ threshold, and not unrelated pictures', async () => {
    const { pdq } = await matcher.hashesOf(original);
    matcher.importList({ name: 'perceptual', category: 'sexual', format: 'text', kind: 'pdq', content: `${pdq!}\n` });
    try {
      for (const copy of [original, smallJpeg, webp]) {
        const matches = await matcher.match(copy);
        expect(matches, copy.mime).toHaveLength(1);
        expect(matches[0]).toMatchObject({ list: 'perceptual', category: 'sexual', kind: 'pdq', hash: pdq });
        expect(matches[0]!.distance).toBeLessThanOrEqual(31);
      }
      expect((await matcher.match(original))[0]!.distance).toBe(0);
      expect((await matcher.match(smallJpeg))[0]!.distance).toBeGreaterThan(0);
      for (const other of [otherPattern, fractal, flat]) expect(await matcher.match(other), other.mime).toEqual([]);
    } finally {
      matcher.removeList('perceptual');
    }
  });

  it('does not match a featureless picture perceptually (its PDQ hash is noise), only byte for byte', async () => {
    const { pdq } = await matcher.hashesOf(flat);
    matcher.importList({
      name: 'flat',
      category: 'sexual',
      format: 'csv',
      content: `${pdq!},pdq\n${sha256(flat)},sha256\n`,
    });
    try {
      expect((await matcher.match(flat)).map((m) => m.kind)).toEqual(['sha256']);
    } finally {
      matcher.removeList('flat');
    }
  });

  it('reports each list that holds the picture, closest first', async () => {
    const { pdq } = await matcher.hashesOf(original);
    const { pdq: near } = await matcher.hashesOf(smallJpeg);
    matcher.importList({ name: 'list b', category: 'violence', format: 'text', kind: 'pdq', content: near! });
    matcher.importList({ name: 'list a', category: 'sexual/minors', format: 'text', kind: 'pdq', content: pdq! });
    try {
      const matches = await matcher.match(original);
      expect(matches.map((m) => [m.list, m.category])).toEqual([
        ['list a', 'sexual/minors'],
        ['list b', 'violence'],
      ]);
      expect(matches[0]!.distance).toBeLessThan(matches[1]!.distance);
    } finally {
      matcher.removeList('list a');
      matcher.removeList('list b');
    }
  });

  it('replaces a list imported again under the same name, and forgets a removed one', async () => {
    const { pdq } = await matcher.hashesOf(original);
    matcher.importList({ name: 'rolling', category: 'sexual', format: 'text', kind: 'pdq', content: pdq! });
    expect(await matcher.match(original)).toHaveLength(1);
    matcher.importList({ name: 'rolling', category: 'sexual', format: 'text', kind: 'sha256', content: sha256(fractal) });
    expect(await matcher.match(original)).toEqual([]);
    expect(await matcher.match(fractal)).toHaveLength(1);
    // a bad import leaves the list as it was
    expect(() => matcher.importList({ name: 'rolling', category: 'sexual', format: 'text', kind: 'sha256', content: 'nope' })).toThrow(AppError);
    expect(await matcher.match(fractal)).toHaveLength(1);
    expect(matcher.removeList('rolling')).toBe(true);
    expect(await matcher.match(fractal)).toEqual([]);
    expect(matcher.removeList('rolling')).toBe(false);
  });

  it('says a file that is not a decodable image is unavailable, unless its bytes are listed', async () => {
    const broken = { bytes: smallJpeg.bytes.slice(0, 100), mime: 'image/jpeg' };
    const err = await matcher.match(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClassifierUnavailableError);
    expect((err as ClassifierUnavailableError).retryable).toBe(false);
    matcher.importList({ name: 'broken files', category: 'sexual/minors', format: 'text', kind: 'sha256', content: sha256(broken) });
    try {
      expect(await matcher.match(broken)).toMatchObject([{ list: 'broken files', kind: 'sha256', distance: 0 }]);
    } finally {
      matcher.removeList('broken files');
    }
  });
});

describe('hash lists: import formats', () => {
  const a = 'a'.repeat(64);
  const b = 'B'.repeat(64);

  it('reads a text list of one hex hash per line: blank lines, # comments, CRLF, upper case, a BOM, duplicates', () => {
    const entries = parseHashList({ format: 'text', kind: 'sha256', content: `\uFEFF# list 7, 2026-12-01\r\n${a}\r\n\r\n${b}\n  ${a}  \n` });
    expect(entries).toEqual([
      { kind: 'sha256', hash: a },
      { kind: 'sha256', hash: b.toLowerCase() },
    ]);
  });

  it('reads CSV hash,kind[,label] with an optional header and quoted labels', () => {
    const entries = parseHashList({ format: 'csv', content: `Hash,Kind,Label\n${a},pdq\n${b},SHA256,"ref 12, ""batch"" 3"\n` });
    expect(entries).toEqual([
      { kind: 'pdq', hash: a },
      { kind: 'sha256', hash: b.toLowerCase(), label: 'ref 12, "batch" 3' },
    ]);
  });

  it('counts what a list holds', () => {
    const matcher = new HashListMatcher();
    expect(
      matcher.importList({ name: ' ncmec-test ', category: 'sexual/minors', format: 'csv', content: `${a},pdq\n${b},sha256\n${'c'.repeat(64)},pdq\n` }),
    ).toEqual({
      name: 'ncmec-test',
      category: 'sexual/minors',
      entries: { sha256: 1, pdq: 2 },
    });
    expect(matcher.lists()).toHaveLength(1);
  });

  const malformed: [string, Omit<ImportHashList, 'name' | 'category'>, RegExp, number | undefined][] = [
    [
      'a short hash',
      { format: 'text', kind: 'sha256', content: `${a}\n# ok so far\n${'a'.repeat(63)}\n` },
      /^Line 3: "a{63}" is not a SHA-256 hash \(64 hex digits\)\.$/,
      3,
    ],
    ['a non-hex digit', { format: 'text', kind: 'pdq', content: 'g'.repeat(64) }, /^Line 1: "g{64}" is not a PDQ hash/, 1],
    ['an unknown kind', { format: 'csv', content: `${a},pdq\n${a},sha512\n` }, /^Line 2: unknown hash kind "sha512"; use sha256 or pdq\.$/, 2],
    ['an unsupported kind', { format: 'csv', content: `${a},md5\n` }, /^Line 1: hash kind "md5" is not supported here; use sha256 or pdq\.$/, 1],
    ['a line with one field', { format: 'csv', content: `hash,kind\n${a}\n` }, /^Line 2: expected hash,kind\[,label\] but found 1 field\.$/, 2],
    ['a line with four fields', { format: 'csv', content: `${a},pdq,x,y\n` }, /^Line 1: expected hash,kind\[,label\] but found 4 fields\.$/, 1],
    ['an unclosed quote', { format: 'csv', content: `${a},pdq,"open\n` }, /^Line 1: a quoted field is not closed\.$/, 1],
    ['a text list without its kind', { format: 'text', content: `${a}\n` }, /needs its hash kind/, undefined],
    ['an empty list', { format: 'csv', content: '# nothing\n\n' }, /has no hashes/, undefined],
  ];
  it.each(malformed)('refuses %s with a 400 naming the line', (_name, input, message, line) => {
    const err = (() => {
      try {
        parseHashList(input);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_hash_list' });
    expect((err as AppError).message).toMatch(message);
    expect((err as AppError).details).toEqual(line === undefined ? undefined : { line });
  });

  it('refuses a list without a name or with an unknown category', () => {
    const matcher = new HashListMatcher();
    expect(() => matcher.importList({ name: ' ', category: 'sexual', format: 'text', kind: 'pdq', content: a })).toThrow(/needs a name/);
    expect(() => matcher.importList({ name: 'x', category: 'spam' as never, format: 'text', kind: 'pdq', content: a })).toThrow(/unknown category "spam"/);
  });
});
