import {
  moderationCategories,
  type CategoryScores,
  type ClassifierResult,
  type ModerationCategory,
  type ModerationReason,
  type TextClassifier,
  type TextInput,
} from './moderation';
import { normalizeForModeration } from './normalize';
import {
  agePatterns as builtinAgePatterns,
  builtinCombinationRules,
  builtinLists,
  ruleSignals,
  type AgePatterns,
  type CombinationRule,
  type RuleListName,
  type RuleLists,
  type RuleSignal,
} from './text-rules.lists';

/**
 * The built-in rule classifier (`builtin-rules`): always on, no network, a few hundred
 * microseconds per prompt. It normalises the text (normalize.ts: case, accents, invisible
 * characters, homoglyphs, leetspeak, spaced letters, repeated letters), looks up the term and
 * phrase lists of every language (text-rules.lists.ts) word by word, drops the matches that lie
 * inside an allow-listed word or phrase, and applies the combination rules (a minor together with a sexual term is
 * `sexual/minors`; a weapon with a crowded place and an attack verb is `terrorism`).
 *
 * Scores: 1 for a direct hit of a category's list; a combination rule scores what it says (1, or
 * less for "worth a look"). Reasons name the rule, the list entry, its language and what matched,
 * for the reviewer.
 *
 * The whole text is read, however long (the caller limits prompt length: 20 000 characters at the
 * API); the cost is linear in its length. The field (`prompt` / `negative_prompt`) and the
 * language hint do not change the verdict: every language's lists apply to every text. Note for
 * the pipeline: negative prompts often *exclude* what the lists look for ("nsfw, nude, blurry"),
 * so it should weigh a hit in a negative prompt differently from one in a prompt.
 *
 * Operators edit the lists with `extraTerms` / `removedTerms` (per list and language; `*` as the
 * language of a removal removes the entry from every language). Malformed entries throw at
 * construction, so a bad edit is refused when it is saved, not when a prompt arrives.
 */
export const BUILTIN_RULES_NAME = 'builtin-rules';

/** Operator edits per list and language (`en`, `es`, or any other language tag): entries written as in the lists; a space makes a phrase. */
export type TermOverrides = Partial<Record<RuleListName, Partial<Record<string, readonly string[]>>>>;

export interface TextRulesOptions {
  extraTerms?: TermOverrides;
  removedTerms?: TermOverrides;
  /** replace the built-in lists, rules and age patterns (tests) */
  lists?: RuleLists;
  rules?: readonly CombinationRule[];
  agePatterns?: Readonly<Record<string, AgePatterns>>;
}

/** One match, for the reviewer (and the console's "why was this flagged"). */
export interface RuleHit {
  list: RuleListName;
  lang: string;
  /** the list entry as written (`porn*`), or the age pattern */
  source: string;
  kind: 'term' | 'phrase' | 'age';
  /** the normalised words that matched */
  text: string;
}

export interface RuleMatcher {
  /** every list entry found in the text (allow-listed words excluded), each once */
  hits(text: string): RuleHit[];
  /** scores and reasons */
  classify(text: string): ClassifierResult;
}

const listNames: readonly RuleListName[] = [...moderationCategories, ...ruleSignals, 'allow'];
const isListName = (v: string): v is RuleListName => (listNames as readonly string[]).includes(v);
const isCategory = (v: string): v is ModerationCategory => (moderationCategories as readonly string[]).includes(v);
/** characters leetspeak reads as letters (normalize.ts) */
const LEET_CHARS = /[0-9@$€!|]/;
const LANG_TAG = /^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i;
/** reasons kept per category (the rest is counted) */
const MAX_REASONS_PER_CATEGORY = 8;

// --- compiling entries ---------------------------------------------------------------------------

/** A word as runs of one letter: `boob` is b×1 o×2 b×1. */
interface Runs {
  chars: string[];
  lengths: number[];
}

function runsOf(word: string): Runs {
  const chars: string[] = [];
  const lengths: number[] = [];
  for (const c of word) {
    const last = chars.length - 1;
    if (last >= 0 && chars[last] === c) lengths[last] = (lengths[last] ?? 0) + 1;
    else {
      chars.push(c);
      lengths.push(1);
    }
  }
  return { chars, lengths };
}

/**
 * Whether a token is an entry's word, letter run by letter run: a single letter of the entry
 * matches one, or three or more (a stretched `seeex`), a doubled one two or more; `n` also
 * matches `ñ`. (Tokens reach this only when their squeezed form equals the word's.)
 */
function sameWord(word: Runs, token: Runs): boolean {
  if (word.chars.length !== token.chars.length) return false;
  for (let i = 0; i < word.chars.length; i++) {
    const w = word.chars[i];
    const t = token.chars[i];
    if (w !== t && !(w === 'n' && t === 'ñ')) return false;
    const wl = word.lengths[i] ?? 0;
    const tl = token.lengths[i] ?? 0;
    if (wl === 1 ? tl === 2 : tl < wl) return false;
  }
  return true;
}

interface Entry {
  list: RuleListName;
  lang: string;
  source: string;
  kind: 'term' | 'phrase';
  /** one per word */
  words: Runs[];
  /** the words written together, for phrases */
  fused?: Runs;
  /** an open-ended single word (`porn*`, `*porn*`), matched by this pattern instead */
  pattern?: RegExp;
  /** for open-ended words: what the token's squeezed form must start with, end with or contain before the pattern is tried */
  within?: { key: string; at: 'start' | 'end' | 'any' };
  /** identity for removals: normalised words with the stars */
  key: string;
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `sameWord` as a pattern, for open-ended words. */
function wordPattern(word: string): string {
  let out = '';
  const { chars, lengths } = runsOf(word);
  chars.forEach((c, i) => {
    const cls = c === 'n' ? '[nñ]' : escapeRe(c);
    const length = lengths[i] ?? 1;
    out += length === 1 ? `${cls}(?:${cls}{2,})?` : `${cls}{${length},}`;
  });
  return out;
}

/** The lookup key of a word: every run squeezed to one letter, `ñ` as `n`. */
const squeeze = (word: string) => word.replace(/(.)\1+/gsu, '$1').replaceAll('ñ', 'n');

const normWords = (s: string) => normalizeForModeration(s, { leet: false, repeats: 'keep' }).split(' ').filter(Boolean);

function compileEntry(list: RuleListName, lang: string, source: string): Entry {
  let body = source.trim();
  const startOpen = body.startsWith('*');
  if (startOpen) body = body.slice(1);
  const endOpen = body.endsWith('*');
  if (endOpen) body = body.slice(0, -1);
  const where = `moderation rules: "${source}" (${list}, ${lang})`;
  if (body.includes('*')) throw new Error(`${where}: a * may only start or end a single word`);
  const words = normWords(body);
  if (words.length === 0) throw new Error(`${where}: no letters or digits`);
  const open = startOpen || endOpen;
  if (open && words.length > 1) throw new Error(`${where}: a * may only start or end a single word, not a phrase`);
  const any = '[\\p{L}\\p{N}]*';
  return {
    list,
    lang,
    source,
    kind: words.length > 1 ? 'phrase' : 'term',
    words: words.map(runsOf),
    ...(words.length > 1 ? { fused: runsOf(words.join('')) } : {}),
    ...(open
      ? {
          pattern: new RegExp(`^${startOpen ? any : ''}${wordPattern(words[0] ?? '')}${endOpen ? any : ''}$`, 'u'),
          within: { key: squeeze(words[0] ?? ''), at: startOpen && endOpen ? 'any' : startOpen ? 'end' : 'start' },
        }
      : {}),
    key: `${startOpen ? '*' : ''}${words.join(' ')}${endOpen ? '*' : ''}`,
  };
}

interface Index {
  /** by the squeezed (first) word */
  exact: Map<string, Entry[]>;
  /** phrases by their squeezed fused form */
  fused: Map<string, Entry[]>;
  /** open-ended words, tried on every distinct token */
  open: Entry[];
}

function buildIndex(entries: readonly Entry[]): Index {
  const index: Index = { exact: new Map(), fused: new Map(), open: [] };
  const add = (map: Map<string, Entry[]>, key: string, e: Entry) => {
    const list = map.get(key);
    if (list) list.push(e);
    else map.set(key, [e]);
  };
  for (const e of entries) {
    if (e.pattern) {
      index.open.push(e);
      continue;
    }
    const words = e.key.split(' ');
    add(index.exact, squeeze(words[0] ?? ''), e);
    if (words.length > 1) add(index.fused, squeeze(words.join('')), e);
  }
  return index;
}

interface Match {
  entry: Entry;
  start: number;
  end: number;
}

/** The text's words, with what matching needs of each (computed once per distinct word). */
interface Tokens {
  words: string[];
  runs: Runs[];
  keys: string[];
}

function tokensOf(text: string): Tokens {
  const words = text.split(' ');
  const cache = new Map<string, { runs: Runs; key: string }>();
  const runs: Runs[] = [];
  const keys: string[] = [];
  for (const w of words) {
    let c = cache.get(w);
    if (!c) {
      c = { runs: runsOf(w), key: squeeze(w) };
      cache.set(w, c);
    }
    runs.push(c.runs);
    keys.push(c.key);
  }
  return { words, runs, keys };
}

const mayContain = (key: string, w: { key: string; at: 'start' | 'end' | 'any' }) =>
  w.at === 'start' ? key.startsWith(w.key) : w.at === 'end' ? key.endsWith(w.key) : key.includes(w.key);

/** Every match of the index in the tokens. */
function findMatches(tokens: Tokens, index: Index): Match[] {
  const out: Match[] = [];
  const openCache = new Map<string, Entry[]>();
  const n = tokens.words.length;
  for (let i = 0; i < n; i++) {
    const token = tokens.words[i] ?? '';
    const key = tokens.keys[i] ?? '';
    const runs = tokens.runs[i];
    for (const e of index.exact.get(key) ?? []) {
      let k = 0;
      while (k < e.words.length) {
        const word = e.words[k];
        const r = tokens.runs[i + k];
        if (!word || !r || !sameWord(word, r)) break;
        k++;
      }
      if (k === e.words.length) out.push({ entry: e, start: i, end: i + k });
    }
    for (const e of index.fused.get(key) ?? []) if (e.fused && runs && sameWord(e.fused, runs)) out.push({ entry: e, start: i, end: i + 1 });
    if (index.open.length) {
      let hits = openCache.get(token);
      if (!hits) {
        hits = index.open.filter((e) => e.within && mayContain(key, e.within) && e.pattern?.test(token));
        openCache.set(token, hits);
      }
      for (const e of hits) out.push({ entry: e, start: i, end: i + 1 });
    }
  }
  return out;
}

// --- ages ----------------------------------------------------------------------------------------

interface AgeMatcher {
  lang: string;
  source: string;
  /** `null` stands for the age */
  words: (string | null)[];
}

interface AgeRules {
  patterns: AgeMatcher[];
  /** number words (as token sequences) under 18, by their first word */
  numbers: Map<string, string[][]>;
}

function compileAges(all: Readonly<Record<string, AgePatterns>>): AgeRules {
  const patterns: AgeMatcher[] = [];
  const numbers = new Map<string, string[][]>();
  for (const [lang, p] of Object.entries(all)) {
    for (const source of p.patterns) {
      const words = source.split(/\s+/).flatMap((w) => (w === '#' ? [null] : normWords(w)));
      if (!words.includes(null)) throw new Error(`moderation rules: age pattern "${source}" (${lang}) has no #`);
      patterns.push({ lang, source, words });
    }
    for (const spellings of p.numbers.slice(0, 18)) {
      for (const s of spellings.split('|')) {
        const words = normWords(s);
        const first = words[0];
        if (first !== undefined) numbers.set(first, [...(numbers.get(first) ?? []), words]);
      }
    }
  }
  return { patterns, numbers };
}

const DIGIT_FIRST = /^\d/;

/** How many tokens from `i` spell an age under 18 (0: none). */
function ageAt(tokens: readonly string[], i: number, numbers: AgeRules['numbers']): number {
  const t = tokens[i];
  if (t === undefined) return 0;
  if (DIGIT_FIRST.test(t)) return t.length <= 2 && /^\d+$/.test(t) && Number(t) < 18 ? 1 : 0;
  let best = 0;
  for (const n of numbers.get(t) ?? []) if (n.length > best && n.every((w, k) => tokens[i + k] === w)) best = n.length;
  return best;
}

function findAges(text: string, ages: AgeRules): RuleHit[] {
  if (!text) return [];
  // `12yo`, `12añitos`: the number apart from its unit
  const tokens = text.split(' ').flatMap((t) => {
    const m = DIGIT_FIRST.test(t) ? /^(\d{1,2})(\p{L}+)$/u.exec(t) : null;
    return m ? [m[1] ?? '', m[2] ?? ''] : [t];
  });
  const ageLength = tokens.map((_, i) => ageAt(tokens, i, ages.numbers));
  if (!ageLength.some((n) => n > 0)) return [];
  const hits: RuleHit[] = [];
  const seen = new Set<AgeMatcher>();
  for (let i = 0; i < tokens.length; i++) {
    for (const p of ages.patterns) {
      if (seen.has(p)) continue;
      let at = i;
      let ok = true;
      for (const w of p.words) {
        const n = w === null ? (ageLength[at] ?? 0) : tokens[at] === w ? 1 : 0;
        if (!n) {
          ok = false;
          break;
        }
        at += n;
      }
      if (ok) {
        seen.add(p);
        hits.push({ list: 'minor', lang: p.lang, source: p.source, kind: 'age', text: tokens.slice(i, at).join(' ') });
      }
    }
  }
  return hits;
}

// --- the lists, with the operator's edits ----------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The operator's edits as entries; they come from stored settings, so their shape is checked here. */
function overrideEntries(overrides: TermOverrides | undefined, what: string): { list: RuleListName; lang: string; source: string }[] {
  const out: { list: RuleListName; lang: string; source: string }[] = [];
  const data: unknown = overrides ?? {};
  if (!isRecord(data)) throw new Error(`moderation rules: ${what} must be an object of lists`);
  for (const [list, byLang] of Object.entries(data)) {
    if (!isListName(list)) throw new Error(`moderation rules: ${what} names an unknown list "${list}" (lists: ${listNames.join(', ')})`);
    if (!isRecord(byLang)) throw new Error(`moderation rules: ${what} for ${list} must be an object of languages`);
    for (const [lang, sources] of Object.entries(byLang)) {
      if (lang !== '*' && !LANG_TAG.test(lang)) throw new Error(`moderation rules: ${what} for ${list} has a malformed language "${lang}"`);
      if (lang === '*' && what === 'extraTerms') throw new Error(`moderation rules: extraTerms for ${list} need a language, not *`);
      if (!Array.isArray(sources) || !sources.every((x) => typeof x === 'string')) {
        throw new Error(`moderation rules: ${what} for ${list} (${lang}) must be a list of words and phrases`);
      }
      for (const source of sources) out.push({ list, lang, source });
    }
  }
  return out;
}

function compileLists(opts: TextRulesOptions): Entry[] {
  const lists = opts.lists ?? builtinLists;
  const entries: Entry[] = [];
  for (const list of listNames) {
    for (const [lang, l] of Object.entries(lists[list])) {
      for (const source of [...(l.terms ?? []), ...(l.phrases ?? [])]) entries.push(compileEntry(list, lang, source));
    }
  }
  const removed = new Set(overrideEntries(opts.removedTerms, 'removedTerms').map((r) => `${r.list}|${r.lang}|${compileEntry(r.list, r.lang, r.source).key}`));
  const kept = entries.filter((e) => !removed.has(`${e.list}|${e.lang}|${e.key}`) && !removed.has(`${e.list}|*|${e.key}`));
  for (const x of overrideEntries(opts.extraTerms, 'extraTerms')) kept.push(compileEntry(x.list, x.lang, x.source));
  return kept;
}

// --- the matcher -----------------------------------------------------------------------------------

export function createRuleMatcher(opts: TextRulesOptions = {}): RuleMatcher {
  const entries = compileLists(opts);
  const allowIndex = buildIndex(entries.filter((e) => e.list === 'allow'));
  const index = buildIndex(entries.filter((e) => e.list !== 'allow'));
  const ages = compileAges(opts.agePatterns ?? builtinAgePatterns);
  const rules = opts.rules ?? builtinCombinationRules;

  function hits(text: string): RuleHit[] {
    const plain = normalizeForModeration(text, { leet: false, repeats: 'keep' });
    const variants = new Set([plain]);
    // leetspeak reads `1` as i and as l; a spaced-out word may start with a one-letter word (`a s e x y`)
    if (LEET_CHARS.test(text)) {
      variants.add(normalizeForModeration(text, { repeats: 'keep' }));
      variants.add(normalizeForModeration(text, { repeats: 'keep', oneAs: 'l' }));
    }
    variants.add(normalizeForModeration(text, { repeats: 'keep', splitLeadingWord: true }));
    const found = new Map<Entry, RuleHit>();
    for (const variant of variants) {
      if (!variant) continue;
      const tokens = tokensOf(variant);
      const allowed = findMatches(tokens, allowIndex);
      for (const m of findMatches(tokens, index)) {
        // inside an allow-listed word or phrase (`cum` in `cum laude`, `gun` in `water gun`): not a hit
        if (allowed.some((a) => a.start <= m.start && m.end <= a.end)) continue;
        if (!found.has(m.entry)) {
          found.set(m.entry, {
            list: m.entry.list,
            lang: m.entry.lang,
            source: m.entry.source,
            kind: m.entry.kind,
            text: tokens.words.slice(m.start, m.end).join(' '),
          });
        }
      }
    }
    // ages: in digits before leetspeak (`12yo`), in words after it (`tw3lve`)
    const agesFound = new Map<string, RuleHit>();
    for (const variant of variants) for (const h of findAges(variant, ages)) if (!agesFound.has(h.lang + h.source)) agesFound.set(h.lang + h.source, h);
    return [...found.values(), ...agesFound.values()];
  }

  function classify(text: string): ClassifierResult {
    const all = hits(text);
    const scores: CategoryScores = {};
    const reasons = new Map<ModerationCategory, string[]>();
    const addReason = (category: ModerationCategory, detail: string) => {
      const list = reasons.get(category) ?? [];
      if (!list.includes(detail)) list.push(detail);
      reasons.set(category, list);
    };
    const present = new Map<RuleSignal | ModerationCategory, RuleHit>();
    for (const h of all) {
      if (h.list === 'allow') continue;
      if (!present.has(h.list)) present.set(h.list, h);
      if (isCategory(h.list)) {
        scores[h.list] = 1;
        addReason(h.list, describeHit(h));
      }
    }
    for (const rule of rules) {
      const parts = rule.all.map((name) => present.get(name));
      if (parts.some((p) => p === undefined)) continue;
      scores[rule.category] = Math.max(scores[rule.category] ?? 0, rule.score);
      addReason(rule.category, `combination ${rule.id} (${rule.score}): ${parts.map((p) => (p ? `${p.list} ${describeHit(p)}` : '')).join(' + ')}`);
    }
    const out: ModerationReason[] = [];
    for (const category of moderationCategories) {
      const details = reasons.get(category) ?? [];
      for (const detail of details.slice(0, MAX_REASONS_PER_CATEGORY)) out.push({ category, detail });
      if (details.length > MAX_REASONS_PER_CATEGORY) out.push({ category, detail: `and ${details.length - MAX_REASONS_PER_CATEGORY} more` });
    }
    return { classifier: BUILTIN_RULES_NAME, scores, reasons: out };
  }

  return { hits, classify };
}

function describeHit(h: RuleHit): string {
  const written = h.kind === 'age' ? '' : normWords(h.source.replace(/^\*|\*$/g, '')).join(' ');
  const as = h.kind !== 'age' && h.text !== written ? ` as "${h.text}"` : '';
  return h.kind === 'age' ? `age "${h.text}" (${h.lang})` : `${h.kind} "${h.source}" (${h.lang})${as}`;
}

export function createTextRulesClassifier(opts: TextRulesOptions = {}): TextClassifier {
  const matcher = createRuleMatcher(opts);
  return {
    name: BUILTIN_RULES_NAME,
    async classifyText(input: TextInput, signal?: AbortSignal) {
      signal?.throwIfAborted();
      return matcher.classify(input.text);
    },
  };
}
