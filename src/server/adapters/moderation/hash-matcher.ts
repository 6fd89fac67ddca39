import { createHash } from 'node:crypto';
import { AppError } from '../../errors';
import { decodeRgb, ImageDecodeError } from './decode';
import { HammingIndex } from './hash-index';
import {
  ClassifierUnavailableError,
  moderationCategories,
  type HashKind,
  type HashMatch,
  type HashMatcher,
  type ImageInput,
  type ModerationCategory,
} from './moderation';
import { lumaFromPixels, PDQ_DEFAULT_THRESHOLD, PDQ_DOWNSAMPLE_SIDE, PDQ_MIN_QUALITY, pdqFromHex, pdqFromLuma, pdqToHex } from './pdq';

/**
 * The hash matcher over operator-imported lists of known-bad files (issue 16): exact SHA-256 of
 * the bytes, and PDQ, the perceptual hash industry hash-sharing programmes deliver, matched within
 * a Hamming distance (31 by default, the reference's threshold) through a multi-index hash table,
 * so a query against 100k hashes checks a few hundred candidates, not every entry.
 *
 * Lists live in memory here (persistence comes with the moderation cases tables): importing a list
 * under a name that exists replaces it whole, only once the new one has parsed.
 *
 * Import formats (UTF-8 text, blank lines and lines starting with `#` ignored):
 * - `text`: one hex hash per line, all of one `kind` given with the import (a SHA-256 and a PDQ hash
 *   are both 64 hex digits, so the kind cannot be guessed);
 * - `csv`: `hash,kind[,label]` per line, kind `sha256` or `pdq`, an optional header line
 *   `hash,kind,label`; a label may be "quoted" (with "" for a quote) and names the entry for the
 *   reviewer (e.g. the programme's id for it).
 * A malformed line fails the whole import with a 400 naming the line.
 */

export type ListKind = Extract<HashKind, 'sha256' | 'pdq'>;
const listKinds: readonly ListKind[] = ['sha256', 'pdq'];

export interface HashListEntry {
  kind: ListKind;
  /** lower-case hex */
  hash: string;
  label?: string;
}

export interface ImportHashList {
  /** the operator's name for the list, shown with every match */
  name: string;
  /** what the list is about: `sexual/minors` for a CSAM list */
  category: ModerationCategory;
  format: 'text' | 'csv';
  /** for `text`, which hash every line holds */
  kind?: ListKind;
  content: string;
}

export interface HashListSummary {
  name: string;
  category: ModerationCategory;
  entries: Record<ListKind, number>;
}

export interface HashListMatcherOptions {
  /** PDQ matches at or under this Hamming distance (0..64; default 31) */
  pdqThreshold?: number;
  /** an image whose PDQ quality is under this is not PDQ-matched: its hash is noise (default 50) */
  pdqMinQuality?: number;
}

const invalid = (message: string, line?: number) =>
  new AppError('invalid_hash_list', line === undefined ? message : `Line ${line}: ${message}`, 400, line === undefined ? undefined : { line });

const hexOf: Record<ListKind, { digits: number; title: string }> = {
  sha256: { digits: 64, title: 'a SHA-256 hash' },
  pdq: { digits: 64, title: 'a PDQ hash' },
};

function quote(text: string) {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function parseKind(raw: string, line?: number): ListKind {
  const kind = raw.trim().toLowerCase();
  if ((listKinds as readonly string[]).includes(kind)) return kind as ListKind;
  if (kind === 'phash' || kind === 'md5' || kind === 'photodna') throw invalid(`hash kind ${quote(kind)} is not supported here; use sha256 or pdq.`, line);
  throw invalid(`unknown hash kind ${quote(raw.trim())}; use sha256 or pdq.`, line);
}

function parseHex(raw: string, kind: ListKind, line: number): string {
  const hex = raw.trim();
  const { digits, title } = hexOf[kind];
  if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) throw invalid(`${quote(hex)} is not ${title} (${digits} hex digits).`, line);
  return hex.toLowerCase();
}

/** One CSV record: commas separate fields; a field may be "quoted", with "" for a quote inside. */
function csvFields(text: string, line: number): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw invalid('a quoted field is not closed.', line);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text.charAt(i++);
      }
      if (i < text.length && text[i] !== ',') throw invalid('unexpected text after a quoted field.', line);
    } else {
      const end = text.indexOf(',', i);
      field = text.slice(i, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end;
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

/** The entries of a list, deduplicated; throws a 400 naming the first malformed line. */
export function parseHashList(input: Pick<ImportHashList, 'format' | 'kind' | 'content'>): HashListEntry[] {
  const entries: HashListEntry[] = [];
  const seen = new Set<string>();
  const add = (entry: HashListEntry) => {
    const key = `${entry.kind}:${entry.hash}`;
    if (seen.has(key)) return;
    seen.add(key);
    entries.push(entry);
  };
  const textKind = input.format === 'text' ? (input.kind ? parseKind(input.kind) : undefined) : undefined;
  if (input.format === 'text' && !textKind) throw invalid('a text list needs its hash kind (sha256 or pdq): both are 64 hex digits.');
  let first = true;
  input.content.split('\n').forEach((rawLine, index) => {
    const line = index + 1;
    const text = rawLine
      .replace(/\r$/, '')
      .replace(/^\uFEFF/, '')
      .trim();
    if (!text || text.startsWith('#')) return;
    if (textKind) {
      add({ kind: textKind, hash: parseHex(text, textKind, line) });
      return;
    }
    const fields = csvFields(text, line);
    const [hashField = '', kindField = '', labelField] = fields;
    const isHeader = first && hashField.trim().toLowerCase() === 'hash' && kindField.trim().toLowerCase() === 'kind';
    first = false;
    if (isHeader) return;
    if (fields.length < 2 || fields.length > 3)
      throw invalid(`expected hash,kind[,label] but found ${fields.length} field${fields.length === 1 ? '' : 's'}.`, line);
    const kind = parseKind(kindField, line);
    const label = labelField?.trim();
    add({ kind, hash: parseHex(hashField, kind, line), ...(label ? { label } : {}) });
  });
  if (entries.length === 0) throw invalid('the list has no hashes.');
  return entries;
}

interface StoredList {
  name: string;
  category: ModerationCategory;
  entries: HashListEntry[];
}

/** Where an indexed hash came from. */
interface Ref {
  list: StoredList;
  entry: HashListEntry;
}

export class HashListMatcher implements HashMatcher {
  readonly name = 'hash-lists';
  readonly pdqThreshold: number;
  readonly pdqMinQuality: number;
  private readonly stored = new Map<string, StoredList>();
  private sha256 = new Map<string, Ref[]>();
  private pdqRefs: Ref[] = [];
  private pdqIndex = new HammingIndex([], 32);

  constructor(opts: HashListMatcherOptions = {}) {
    this.pdqThreshold = opts.pdqThreshold ?? PDQ_DEFAULT_THRESHOLD;
    this.pdqMinQuality = opts.pdqMinQuality ?? PDQ_MIN_QUALITY;
    if (!Number.isInteger(this.pdqThreshold) || this.pdqThreshold < 0 || this.pdqThreshold > 64)
      throw new Error(`pdqThreshold must be an integer from 0 to 64, not ${this.pdqThreshold}`);
    if (!(this.pdqMinQuality >= 0 && this.pdqMinQuality <= 100)) throw new Error(`pdqMinQuality must be from 0 to 100, not ${this.pdqMinQuality}`);
  }

  /** Add a list, or replace the list of that name. */
  importList(input: ImportHashList): HashListSummary {
    const name = input.name.trim();
    if (!name || name.length > 100) throw invalid('a list needs a name of 1 to 100 characters.');
    if (!(moderationCategories as readonly string[]).includes(input.category)) throw invalid(`unknown category ${quote(input.category)}.`);
    const list: StoredList = { name, category: input.category, entries: parseHashList(input) };
    this.stored.set(name, list);
    this.rebuild();
    return summarize(list);
  }

  removeList(name: string): boolean {
    const removed = this.stored.delete(name);
    if (removed) this.rebuild();
    return removed;
  }

  lists(): HashListSummary[] {
    return [...this.stored.values()].map(summarize);
  }

  private rebuild() {
    const sha256 = new Map<string, Ref[]>();
    const pdqRefs: Ref[] = [];
    const pdqHashes: Uint8Array[] = [];
    for (const list of this.stored.values()) {
      for (const entry of list.entries) {
        if (entry.kind === 'sha256') {
          const refs = sha256.get(entry.hash);
          if (refs) refs.push({ list, entry });
          else sha256.set(entry.hash, [{ list, entry }]);
        } else {
          // parsed lists hold only well-formed hex
          const hash = pdqFromHex(entry.hash);
          if (!hash) continue;
          pdqRefs.push({ list, entry });
          pdqHashes.push(hash);
        }
      }
    }
    this.sha256 = sha256;
    this.pdqRefs = pdqRefs;
    this.pdqIndex = new HammingIndex(pdqHashes, 32);
  }

  /** The PDQ hash of the picture and its quality. */
  private async pdqOf(image: ImageInput): Promise<{ pdq: string; pdqQuality: number }> {
    const raw = await decodeRgb(image, { maxSide: PDQ_DOWNSAMPLE_SIDE });
    const { hash, quality } = pdqFromLuma(lumaFromPixels(raw.data, raw.width, raw.height, raw.channels), raw.height, raw.width);
    return { pdq: pdqToHex(hash), pdqQuality: quality };
  }

  /** SHA-256 of the bytes, and the PDQ hash of the picture with its quality (0..100). */
  async hashesWithQuality(image: ImageInput): Promise<{ sha256: string; pdq: string; pdqQuality: number }> {
    try {
      return { sha256: sha256Of(image), ...(await this.pdqOf(image)) };
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async hashesOf(image: ImageInput): Promise<Partial<Record<HashKind, string>>> {
    const { sha256, pdq } = await this.hashesWithQuality(image);
    return { sha256, pdq };
  }

  async match(image: ImageInput): Promise<HashMatch[]> {
    const sha256 = sha256Of(image);
    let perceptual: { pdq: string; pdqQuality: number };
    try {
      perceptual = await this.pdqOf(image);
    } catch (err) {
      // a file that does not decode can still be a known-bad file byte for byte
      const exact = this.matchHashes({ sha256 });
      if (exact.length) return exact;
      throw this.unavailable(err);
    }
    return this.matchHashes({ sha256, ...perceptual });
  }

  /**
   * Matches for hashes already computed (e.g. those stored with a case, checked against a list
   * imported later). A PDQ hash whose quality is known and under the minimum is not matched.
   */
  matchHashes(hashes: { sha256?: string; pdq?: string; pdqQuality?: number }): HashMatch[] {
    const out: HashMatch[] = [];
    if (hashes.sha256) {
      for (const { list, entry } of this.sha256.get(hashes.sha256.toLowerCase()) ?? []) out.push(toMatch(list, entry, 0));
    }
    const pdq = hashes.pdq ? pdqFromHex(hashes.pdq) : undefined;
    if (pdq && (hashes.pdqQuality === undefined || hashes.pdqQuality >= this.pdqMinQuality)) {
      for (const { entry: i, distance } of this.pdqIndex.search(pdq, this.pdqThreshold)) {
        const ref = this.pdqRefs[i];
        if (ref) out.push(toMatch(ref.list, ref.entry, distance));
      }
    }
    return out.sort((a, b) => a.distance - b.distance || a.list.localeCompare(b.list));
  }

  private unavailable(err: unknown): Error {
    if (err instanceof ImageDecodeError) return new ClassifierUnavailableError(this.name, err.message, false);
    return err instanceof Error ? err : new Error(String(err));
  }
}

const sha256Of = (image: ImageInput) => createHash('sha256').update(image.bytes).digest('hex');

function toMatch(list: StoredList, entry: HashListEntry, distance: number): HashMatch {
  return { list: list.name, category: list.category, kind: entry.kind, hash: entry.hash, distance, ...(entry.label ? { label: entry.label } : {}) };
}

function summarize(list: StoredList): HashListSummary {
  const entries: Record<ListKind, number> = { sha256: 0, pdq: 0 };
  for (const e of list.entries) entries[e.kind]++;
  return { name: list.name, category: list.category, entries };
}
