import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { legalDocumentIds, POLICY_VERSION_PATTERN, type LegalDocumentName } from '../../../shared/api/legal';
import { isSupportedLanguage, supportedLanguages, type Language } from '../../../shared/languages';
import { AppError } from '../../errors';

/**
 * Legal documents as files: Markdown with a front matter block, e.g.
 *
 *     ---
 *     document: privacy            # privacy | terms | acceptable-use
 *     version: 2026-12-07          # the operator's label; a new text needs a new one
 *     lastUpdated: 2026-12-07      # the "Last Updated" date on the page
 *     title: Privacy Policy
 *     material: no                 # yes: notice to signed-in users and a mail to every active account
 *     summary: What changed, in a sentence or two (required when material is yes).
 *     language: en                 # optional: otherwise the name of the file's folder (en/, es/)
 *     ---
 *     ## 1. ...
 *
 * The front matter is a flat list of `key: value` lines (values may be quoted); nothing else of
 * YAML is needed or accepted, so a mistake is reported plainly instead of being read as something
 * else.
 */

/** Where the default documents ship: `content/legal/{en,es}/{privacy,terms,acceptable-use}.md`. */
export const SHIPPED_LEGAL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../content/legal');

export const LEGAL_FILE_MAX_BYTES = 512 * 1024;
const TITLE_MAX = 200;
const SUMMARY_MAX = 1000;

export interface LegalFile {
  /** where it came from (a path, or a name in tests) */
  source: string;
  document: LegalDocumentName;
  version: string;
  language: Language;
  title: string;
  lastUpdated: string;
  material: boolean;
  summary: string | null;
  body: string;
  bodySha256: string;
}

const KEYS = ['document', 'version', 'lastUpdated', 'title', 'material', 'summary', 'language'] as const;
type Key = (typeof KEYS)[number];

const invalid = (source: string, message: string) => new AppError('invalid_legal_document', `${source}: ${message}`, 400);

/** A quoted or bare front matter value. */
function scalar(raw: string, source: string, line: number): string {
  const v = raw.trim();
  if (v.startsWith('"')) {
    if (!v.endsWith('"') || v.length < 2) throw invalid(source, `line ${line}: a value that opens with " must close with "`);
    return v.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  if (v.startsWith("'")) {
    if (!v.endsWith("'") || v.length < 2) throw invalid(source, `line ${line}: a value that opens with ' must close with '`);
    return v.slice(1, -1).replace(/''/g, "'");
  }
  // a comment after a bare value
  return v.replace(/\s+#.*$/, '').trim();
}

/**
 * Parse one document. `fallbackLanguage` is used when the front matter names none (the folder the
 * file is in). Throws AppError 400 `invalid_legal_document` naming the file and the problem.
 */
export function parseLegalFile(text: string, source: string, fallbackLanguage?: string): LegalFile {
  if (Buffer.byteLength(text, 'utf8') > LEGAL_FILE_MAX_BYTES) throw invalid(source, `larger than ${LEGAL_FILE_MAX_BYTES / 1024} KB`);
  if (text.includes('\u0000')) throw invalid(source, 'contains a NUL character');
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const lines = normalized.split('\n');
  if (lines[0]?.trim() !== '---') throw invalid(source, 'must start with a front matter block (a line "---", the fields, and a closing "---")');
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === '---');
  if (end < 0) throw invalid(source, 'the front matter block has no closing "---" line');

  const fields: Partial<Record<Key, string>> = {};
  for (const [index, line] of lines.slice(1, end).entries()) {
    const n = index + 2; // the line's number in the file
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const m = /^([A-Za-z][A-Za-z0-9_-]*)\s*:(.*)$/.exec(line);
    if (!m) throw invalid(source, `line ${n}: expected "key: value"`);
    const [, key = '', raw = ''] = m;
    if (!(KEYS as readonly string[]).includes(key)) throw invalid(source, `line ${n}: unknown field "${key}" (fields: ${KEYS.join(', ')})`);
    if (fields[key as Key] !== undefined) throw invalid(source, `line ${n}: "${key}" is given twice`);
    fields[key as Key] = scalar(raw, source, n);
  }

  const document = fields.document;
  if (!document) throw invalid(source, `"document" is required (one of ${legalDocumentIds.join(', ')})`);
  if (!(legalDocumentIds as readonly string[]).includes(document))
    throw invalid(source, `"document" must be one of ${legalDocumentIds.join(', ')} (got "${document}")`);
  const version = fields.version;
  if (!version || !POLICY_VERSION_PATTERN.test(version)) throw invalid(source, '"version" is required: 1-64 letters, digits, dots, dashes or underscores');
  const lastUpdated = fields.lastUpdated;
  if (!lastUpdated || !isCalendarDate(lastUpdated)) throw invalid(source, '"lastUpdated" is required as a date YYYY-MM-DD');
  const title = fields.title?.trim();
  if (!title) throw invalid(source, '"title" is required');
  if (title.length > TITLE_MAX) throw invalid(source, `"title" is longer than ${TITLE_MAX} characters`);
  const materialText = (fields.material ?? 'no').toLowerCase();
  if (!['yes', 'no', 'true', 'false'].includes(materialText)) throw invalid(source, '"material" must be yes or no');
  const material = materialText === 'yes' || materialText === 'true';
  const summary = fields.summary?.trim() || null;
  if (summary && summary.length > SUMMARY_MAX) throw invalid(source, `"summary" is longer than ${SUMMARY_MAX} characters`);
  if (material && !summary) throw invalid(source, '"summary" is required for a material change (the notice and the mail say it)');
  const language = fields.language ?? fallbackLanguage;
  if (!language || !isSupportedLanguage(language))
    throw invalid(
      source,
      `the language must be one of ${supportedLanguages.join(', ')}: set "language" or put the file in a folder named after it (got ${language ? `"${language}"` : 'none'})`,
    );

  const body = `${lines
    .slice(end + 1)
    .join('\n')
    .replace(/^\s*\n/, '')
    .trimEnd()}\n`;
  if (!body.trim()) throw invalid(source, 'the document has no text after its front matter');
  return {
    source,
    document: document as LegalDocumentName,
    version,
    language,
    title,
    lastUpdated,
    material,
    summary,
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
  };
}

function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** Read and parse one file (its folder's name is the language when the front matter names none). */
export function readLegalFile(file: string): LegalFile {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new AppError('not_found', `No such file: ${path.resolve(file)}.`, 404);
  }
  if (!stat.isFile()) throw invalid(file, 'is not a file');
  if (stat.size > LEGAL_FILE_MAX_BYTES) throw invalid(file, `larger than ${LEGAL_FILE_MAX_BYTES / 1024} KB`);
  return parseLegalFile(fs.readFileSync(file, 'utf8'), file, path.basename(path.dirname(path.resolve(file))));
}

export interface LegalDirEntry {
  file: string;
  parsed?: LegalFile;
  error?: string;
}

/** Every `*.md` in `dir` and in its language folders (`dir/en/*.md`), parsed; a bad file is reported, not thrown. */
export function readLegalDir(dir: string): LegalDirEntry[] {
  const files: string[] = [];
  const walk = (d: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, e.name);
      if (e.isDirectory() && depth === 0) walk(full, 1);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.md')) files.push(full);
    }
  };
  walk(dir, 0);
  return files.map((file) => {
    try {
      return { file, parsed: readLegalFile(file) };
    } catch (err) {
      return { file, error: (err as Error).message };
    }
  });
}
