/**
 * Text normalisation for the built-in moderation rules (issue 16): what a prompt is turned into
 * before terms are looked up, so that the usual ways of slipping a word past a filter do not work.
 *
 * In order:
 * 1. Unicode NFKC: full-width, mathematical, circled and other compatibility letters become plain
 *    ones (`Ｓｅｘ`, `𝐬𝐞𝐱`, `ⓢⓔⓧ` -> `sex`), ligatures split.
 * 2. Invisible characters are removed: zero-width space/joiners (U+200B-U+200D), word joiner
 *    (U+2060), BOM (U+FEFF), soft hyphen (U+00AD), bidi controls, variation selectors, tag
 *    characters, private-use characters: every default-ignorable or format (Cf) code point.
 * 3. Homoglyphs: Cyrillic, Greek and small-capital letters that look like Latin ones become those
 *    (`ѕех` in Cyrillic -> `sex`). A genuinely Cyrillic or Greek text is mapped too; the lists
 *    are compiled through the same function, so an operator's own Cyrillic term still matches.
 * 4. Lower case; `ß` -> `ss`, `ø` -> `o`, `æ` -> `ae`, `œ` -> `oe`, `ł` -> `l`, dotless `ı` -> `i`.
 * 5. Accents are stripped (NFD, combining marks dropped), except the tilde of `ñ`: Spanish
 *    `año`/`ano` and `niña`/`Nina` are different words, and merging them would make false
 *    positives. (The matcher lets a term's `n` match `ñ`, so `ñude` does not escape `nude`.)
 * 6. Letters spaced out are joined: three or more single characters separated by spaces, dots,
 *    dashes, underscores, slashes, stars or bars (`s e x`, `s.e.x`, `s-e-x`, `p_o_r_n`) become one
 *    word; when dots or dashes keep the letters apart, a bare space is a word break
 *    (`n.a.k.e.d c.h.i.l.d` -> `naked child`). With `splitLeadingWord`, a run of four or more that starts with a one-letter word
 *    (`a`, `i`, `y`, `o`, `e`, `u`) keeps it apart (`a s e x y` -> `a sexy`).
 * 7. Leetspeak (unless `leet: false`), only inside words that have a letter (so `1950`, `16:9`
 *    and a child's age `12` stay numbers): `0`->o, `1`->i (or l: `oneAs`), `3`->e, `4`->a,
 *    `5`->s, `7`->t, `8`->b, `9`->g, `@`->a, `$`->s, `€`->e, and between two letters `!`->i, `|`->l.
 * 8. Everything that is not a letter or a digit becomes a space; spaces are squeezed, trimmed.
 * 9. A letter written three times or more counts once (`seeeex` -> `sex`, `pooorn` -> `porn`)
 *    unless `repeats: 'keep'`. A doubled letter is left alone: it is spelling (`Sussex`,
 *    `boobs`, French `nuée` is not `nue`). The rule matcher keeps repeats and compares letter
 *    runs itself (a single letter of a term matches one, or three or more, in the text).
 *
 * The result is lower-case words of letters and digits separated by single spaces.
 */
export interface NormalizeOptions {
  /** apply leetspeak (default true) */
  leet?: boolean;
  /** what `1` becomes in leetspeak (default 'i') */
  oneAs?: 'i' | 'l';
  /** see step 6 (default false) */
  splitLeadingWord?: boolean;
  /** 'collapse' (default): a letter three times or more counts once; 'keep': leave runs as they are */
  repeats?: 'collapse' | 'keep';
}

const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Co}]/gu;

/** Look-alikes of Latin letters, upper and lower case (applied before lower-casing). */
const HOMOGLYPHS: Record<string, string> = {
  // Cyrillic
  А: 'a',
  а: 'a',
  В: 'b',
  в: 'b',
  Е: 'e',
  е: 'e',
  Ё: 'e',
  ё: 'e',
  К: 'k',
  к: 'k',
  М: 'm',
  м: 'm',
  Н: 'h',
  н: 'h',
  О: 'o',
  о: 'o',
  Р: 'p',
  р: 'p',
  С: 'c',
  с: 'c',
  Т: 't',
  т: 't',
  У: 'y',
  у: 'y',
  Х: 'x',
  х: 'x',
  Ѕ: 's',
  ѕ: 's',
  І: 'i',
  і: 'i',
  Ї: 'i',
  ї: 'i',
  Ј: 'j',
  ј: 'j',
  Ԁ: 'd',
  ԁ: 'd',
  Ԛ: 'q',
  ԛ: 'q',
  Ԝ: 'w',
  ԝ: 'w',
  Һ: 'h',
  һ: 'h',
  Ӏ: 'l',
  ӏ: 'l',
  г: 'r',
  п: 'n',
  ь: 'b',
  // Greek
  Α: 'a',
  α: 'a',
  Β: 'b',
  β: 'b',
  Ε: 'e',
  ε: 'e',
  Ζ: 'z',
  Η: 'h',
  η: 'n',
  Ι: 'i',
  ι: 'i',
  Κ: 'k',
  κ: 'k',
  Μ: 'm',
  μ: 'u',
  Ν: 'n',
  ν: 'v',
  Ο: 'o',
  ο: 'o',
  Ρ: 'p',
  ρ: 'p',
  Τ: 't',
  τ: 't',
  Υ: 'y',
  υ: 'u',
  Χ: 'x',
  χ: 'x',
  γ: 'y',
  ω: 'w',
  // Latin small capitals and other look-alikes NFKC leaves alone
  ᴀ: 'a',
  ʙ: 'b',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ɢ: 'g',
  ʜ: 'h',
  ɪ: 'i',
  ᴊ: 'j',
  ᴋ: 'k',
  ʟ: 'l',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ʀ: 'r',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ʏ: 'y',
  ᴢ: 'z',
  ɑ: 'a',
  ɡ: 'g',
  ɩ: 'i',
};

/** Letters that lower-casing and accent stripping leave as they are. */
const SPECIAL_LETTERS: Record<string, string> = { ß: 'ss', ı: 'i', ø: 'o', æ: 'ae', œ: 'oe', đ: 'd', ð: 'd', ł: 'l', þ: 'th', ħ: 'h', ŧ: 't', ƒ: 'f' };

const HOMOGLYPH_RE = new RegExp(`[${Object.keys(HOMOGLYPHS).join('')}]`, 'gu');
const SPECIAL_RE = new RegExp(`[${Object.keys(SPECIAL_LETTERS).join('')}]`, 'gu');

/** a character that can stand for a letter in a spaced-out or leet word */
const UNIT = '[\\p{L}\\p{N}@$€]';
/** what evaders put between the letters of a word */
const SEP = '[\\s\\p{Pd}.·•‧*_/\\\\|~+=]';
const SPACED_RUN = new RegExp(`(?<![\\p{L}\\p{N}@$€])${UNIT}(?:${SEP}+${UNIT}(?![\\p{L}\\p{N}@$€])){2,}`, 'gu');
const SEP_RE = new RegExp(`${SEP}+`, 'gu');
const ONE_LETTER_WORDS = new Set(['a', 'i', 'y', 'o', 'e', 'u']);

const LEET: Record<string, string> = { '0': 'o', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '@': 'a', $: 's', '€': 'e' };
/** only inside a word: at its end they are punctuation (`wow!`) */
const LEET_INNER: Record<string, string> = { '!': 'i', '|': 'l' };
const LEET_TOKEN = /[\p{L}\p{N}@$€!|]+/gu;
const HAS_LETTER = /\p{L}/u;
const WORD_CHAR = /[\p{L}\p{N}@$€]/u;

/** `ñ` survives accent stripping: it is kept aside in a code point step 2 has already removed from the text */
const ENYE_KEEP = '\uE000';

export function normalizeForModeration(text: string, opts: NormalizeOptions = {}): string {
  const leet = opts.leet ?? true;
  const one = opts.oneAs ?? 'i';
  let s = text.normalize('NFKC').replace(INVISIBLE, '');
  s = s.replace(HOMOGLYPH_RE, (c) => HOMOGLYPHS[c] ?? c).toLowerCase();
  s = s.replace(SPECIAL_RE, (c) => SPECIAL_LETTERS[c] ?? c);
  s = s
    .normalize('NFD')
    .replace(/n\u0303/g, ENYE_KEEP)
    .replace(/\p{M}/gu, '')
    .replaceAll(ENYE_KEEP, 'ñ');
  s = s.replace(SPACED_RUN, (run) => {
    const units = run.split(SEP_RE);
    const seps = run.match(SEP_RE) ?? [];
    // `n.a.k.e.d c.h.i.l.d`: when letters are kept apart by dots or dashes, a bare space between them is a word break
    const spaceIsBreak = seps.some((sep) => !/^\s+$/.test(sep));
    const words: string[][] = [[]];
    units.forEach((unit, i) => {
      words[words.length - 1]?.push(unit);
      const sep = seps[i];
      if (sep !== undefined && spaceIsBreak && /^\s+$/.test(sep)) words.push([]);
    });
    return words
      .map((w) => {
        const first = w[0] ?? '';
        return opts.splitLeadingWord && w.length >= 4 && ONE_LETTER_WORDS.has(first) ? `${first} ${w.slice(1).join('')}` : w.join('');
      })
      .join(' ');
  });
  if (leet) {
    s = s.replace(LEET_TOKEN, (token) => {
      if (!HAS_LETTER.test(token)) return token;
      let out = '';
      for (let i = 0; i < token.length; i++) {
        const c = token.charAt(i);
        if (c === '1') out += one;
        else if (LEET[c] !== undefined) out += LEET[c];
        else if (LEET_INNER[c] !== undefined && out !== '' && WORD_CHAR.test(token.charAt(i + 1))) out += LEET_INNER[c];
        else out += c;
      }
      return out;
    });
  }
  s = s
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  if ((opts.repeats ?? 'collapse') === 'collapse') s = s.replace(/(\p{L})\1{2,}/gu, '$1');
  return s;
}
