import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';
import { listenLocal } from './listen';

/**
 * A fake NCMEC CyberTipline reporting web service ("ISPWS", docs/provider-apis.md §7 in the shared
 * docs): a real HTTP server on 127.0.0.1 that checks what it receives the way the real one is
 * documented to, and records the reports with their files.
 *
 * Endpoints under `<url>` = `http://127.0.0.1:<port>/ispws`, all behind HTTP Basic (`username` /
 * `password`; anything else: HTTP 401 with `WWW-Authenticate` and a `<reportResponse>` with code 2000,
 * or with `authFailure: 'code-2000'` HTTP 200 with that body: the real behaviour is UNCONFIRMED):
 * - `GET /status` -> code 0, "Remote User : <user>, Remote Ip : <ip>".
 * - `GET /xsd` -> a stub schema (the fake checks the rules below, not an XSD).
 * - `POST /submit` (XML, `text/xml` or `application/xml`) -> a new numeric `reportId`. Refused:
 *   not XML / not well-formed / a DOCTYPE / characters XML 1.0 forbids (4110); root not `<report>`,
 *   elements out of order or unknown, a missing `incidentSummary/incidentType` (from the enum, both
 *   spellings of the enticement value) or `incidentDateTime` (ISO 8601 with a zone), a bad
 *   annotation, email, IP address, event name, URL or boolean (4100).
 * - `POST /upload` (multipart `id` + `file`) -> `fileId` (32 hex) and `hash` (MD5 of the bytes).
 *   Unknown or expired report 5001, retracted 5101, finished 5102, no file or an empty one 4200.
 * - `POST /fileinfo` (XML `<fileDetails>`) -> code 0. Checks as for submit, plus: a known open
 *   report (5001/5101/5102), a fileId of that report (5002), the schema's rules (exifViewedByEsp
 *   needs fileViewedByEsp; a "Supplemental Reported" file has no potentialMeme or classification;
 *   hashes carry a hashType and at most 64 characters; URLs at most 2083, names 2056). May be sent
 *   again for the same file (the last one wins; `detailsCount` counts them).
 * - `POST /finish` (form field `id`, multipart or urlencoded) -> `<reportDoneResponse>` listing the
 *   fileIds; a second finish 5102; retracted 5101; unknown or expired 5001.
 * - `POST /retract` (`id`) -> code 0 for an open report; finished 5102; retracted 5101; unknown 5001.
 *
 * Errors come with HTTP 500 (1xxx), 401 (2000), 403 (3xxx), 400 (4xxx), 404 (5001/5002) or 409
 * (5101/5102), or all with HTTP 200 (`errorsAsHttp200`): which the real service does is UNCONFIRMED.
 * Every answer carries a `Request-ID` header. Unfinished reports expire 1 h after their last change
 * or 24 h after opening (UNCONFIRMED; `expiry`), measured with `now` (default `Date.now`).
 *
 * Failure injection, one request at a time: `failNext(step, failure, times)` where failure is
 * `{kind:'http', status}` (that status, a non-XML body, nothing done), `{kind:'code', code}` (that
 * responseCode, nothing done), `{kind:'timeout'}` (never answers, nothing done) or
 * `{kind:'drop-after'}` (the step is done, then the connection is closed without an answer).
 */
export type CyberTipStep = 'status' | 'xsd' | 'submit' | 'upload' | 'fileinfo' | 'finish' | 'retract';

export type CyberTipFailure = { kind: 'http'; status: number } | { kind: 'code'; code: number } | { kind: 'timeout' } | { kind: 'drop-after' };

export interface FakeCyberTipOptions {
  port?: number;
  host?: string;
  /** default 'esp-test' */
  username?: string;
  /** default 'esp-test-password' */
  password?: string;
  /** how a bad Authorization is refused (default 'http-401') */
  authFailure?: 'http-401' | 'code-2000';
  /** answer every responseCode error with HTTP 200 (default false: a 4xx/5xx per code) */
  errorsAsHttp200?: boolean;
  /** unfinished reports expire (default 1 h idle / 24 h total); false: never */
  expiry?: { idleMs: number; totalMs: number } | false;
  /** the fake's clock for expiry (default Date.now) */
  now?: () => number;
}

export interface FakeCyberTipFile {
  fileId: string;
  fileName: string;
  contentType: string;
  bytes: Buffer;
  sha256: string;
  md5: string;
  uploadedAt: number;
  /** the last `/fileinfo` accepted for it: raw XML and parsed `<fileDetails>` content */
  detailsXml?: string;
  details?: Record<string, any>;
  detailsCount: number;
}

export interface FakeCyberTipReport {
  reportId: string;
  /** the `/submit` body as received */
  xml: string;
  /** the parsed `<report>` content (repeatable elements are arrays) */
  report: Record<string, any>;
  state: 'open' | 'finished' | 'retracted' | 'expired';
  openedAt: number;
  updatedAt: number;
  files: FakeCyberTipFile[];
}

export interface FakeCyberTipRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  size: number;
  /** the responseCode answered (undefined: none, e.g. an injected timeout or HTTP failure) */
  responseCode?: number;
}

export interface FakeCyberTip {
  /** the base URL a client is configured with (ends in /ispws) */
  url: string;
  username: string;
  password: string;
  reports: Map<string, FakeCyberTipReport>;
  requests: FakeCyberTipRequest[];
  failNext(step: CyberTipStep, failure: CyberTipFailure, times?: number): void;
  /** the report, or an error naming the ones there are */
  report(reportId: string): FakeCyberTipReport;
  close(): Promise<void>;
}

// --- the schema's vocabulary ------------------------------------------------------------------------

export const fakeIncidentTypes = [
  'Child Pornography (possession, manufacture, and distribution)',
  'Child Sex Trafficking',
  'Child Sex Tourism',
  'Child Sexual Molestation',
  'Misleading Domain Name',
  'Misleading Words or Digital Images on the Internet',
  // both spellings the sources give (UNCONFIRMED which one the XSD has)
  'Online Enticement of Children for Sexual Acts',
  'Online Enticement of Children for Sexual Act',
  'Unsolicited Obscene Material Sent to a Child',
];
const REPORT_ANNOTATIONS = ['sextortion', 'csamSolicitation', 'minorToMinorInteraction'];
const IP_EVENTS = ['Login', 'Registration', 'Purchase', 'Upload', 'Other', 'Unknown'];
const FILE_ANNOTATIONS = [
  'animeDrawingVirtualHentai',
  'potentialMeme',
  'viral',
  'possibleSelfProduction',
  'physicalHarm',
  'violenceGore',
  'bestiality',
  'liveStreaming',
  'infant',
  'generativeAi',
];
const INCIDENT_KINDS = [
  'webPageIncident',
  'emailIncident',
  'newsgroupIncident',
  'chatImIncident',
  'onlineGamingIncident',
  'cellPhoneIncident',
  'nonInternetIncident',
  'peer2peerIncident',
];

/** [element, min, max] in schema order (max -1: unbounded) */
type Seq = [string, number, number][];
const SEQ: Record<string, Seq> = {
  report: [
    ['incidentSummary', 1, 1],
    ['internetDetails', 0, -1],
    ['lawEnforcement', 0, 1],
    ['reporter', 0, 1],
    ['personOrUserReported', 0, -1],
    ['intendedRecipient', 0, -1],
    ['victim', 0, -1],
    ['additionalInfo', 0, 1],
  ],
  incidentSummary: [
    ['incidentType', 1, 1],
    ['escalateToHighPriority', 0, 1],
    ['reportAnnotations', 0, 1],
    ['incidentDateTime', 1, 1],
    ['incidentDateTimeDescription', 0, 1],
  ],
  webPageIncident: [
    ['url', 1, -1],
    ['additionalInfo', 0, 1],
  ],
  reporter: [
    ['reportingPerson', 1, 1],
    ['contactPerson', 0, 1],
    ['companyTemplate', 0, 1],
    ['termsOfService', 0, 1],
    ['legalUrl', 0, 1],
  ],
  person: [
    ['firstName', 0, 1],
    ['lastName', 0, 1],
    ['phone', 0, -1],
    ['email', 0, -1],
    ['address', 0, -1],
    ['age', 0, 1],
    ['dateOfBirth', 0, 1],
  ],
  personOrUserReported: [
    ['personOrUserReportedPerson', 0, 1],
    ['vehicleDescription', 0, 1],
    ['espIdentifier', 0, 1],
    ['espService', 0, 1],
    ['screenName', 0, 1],
    ['displayName', 0, -1],
    ['profileUrl', 0, -1],
    ['ipCaptureEvent', 0, -1],
    ['deviceId', 0, -1],
    ['thirdPartyUserReported', 0, 1],
    ['priorCTReports', 0, -1],
    ['groupIdentifier', 0, 1],
    ['estimatedLocation', 0, 1],
    ['additionalInfo', 0, 1],
  ],
  ipCaptureEvent: [
    ['ipAddress', 1, 1],
    ['eventName', 0, 1],
    ['dateTime', 0, 1],
    ['possibleProxy', 0, 1],
    ['port', 0, 1],
  ],
  fileDetails: [
    ['reportId', 1, 1],
    ['fileId', 1, 1],
    ['fileName', 0, 1],
    ['originalFileName', 0, 1],
    ['locationOfFile', 0, 1],
    ['fileViewedByEsp', 0, 1],
    ['exifViewedByEsp', 0, 1],
    ['publiclyAvailable', 0, 1],
    ['fileRelevance', 0, 1],
    ['fileAnnotations', 0, 1],
    ['industryClassification', 0, 1],
    ['originalFileHash', 0, -1],
    ['ipCaptureEvent', 0, 1],
    ['deviceId', 0, -1],
    ['details', 0, -1],
    ['additionalInfo', 0, -1],
  ],
  details: [['nameValuePair', 1, -1]],
  nameValuePair: [
    ['name', 1, 1],
    ['value', 1, 1],
  ],
};

const DESCRIPTIONS: Record<number, string> = {
  0: 'Success',
  1000: 'Server error',
  1100: 'Save failed',
  1110: 'Upload failed',
  1111: 'File upload failed',
  1210: 'Resource not found',
  1300: 'Update failed',
  2000: 'Authentication required',
  3000: 'Not authorized',
  4000: 'Invalid request',
  4100: 'Validation failed',
  4110: 'Malformed XML submittal',
  4200: 'Malformed file submittal',
  5001: 'Report does not exist',
  5002: 'File does not exist',
  5101: 'Report already retracted',
  5102: 'Report already finished',
};

function httpStatusFor(code: number): number {
  if (code === 0) return 200;
  if (code < 2000) return 500;
  if (code === 2000) return 401;
  if (code < 4000) return 403;
  if (code < 5000) return 400;
  if (code === 5001 || code === 5002) return 404;
  return 409;
}

// --- XML --------------------------------------------------------------------------------------------

/** An element of a received document, in order. */
interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

// htmlEntities: numeric character references (&#60;) are decoded too
const ordered = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  trimValues: true,
  htmlEntities: true,
});
const REPEATED = new Set([
  'internetDetails',
  'url',
  'personOrUserReported',
  'intendedRecipient',
  'victim',
  'phone',
  'email',
  'address',
  'displayName',
  'profileUrl',
  'ipCaptureEvent',
  'deviceId',
  'priorCTReports',
  'originalFileHash',
  'details',
  'nameValuePair',
]);
const plain = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
  htmlEntities: true,
  jPath: true,
  isArray: (name, jPath) => REPEATED.has(name) || (name === 'additionalInfo' && String(jPath) === 'fileDetails.additionalInfo'),
});

function toEl(node: Record<string, unknown>): El | undefined {
  const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text');
  if (!name) return undefined;
  const kids = (node[name] ?? []) as Record<string, unknown>[];
  const attrs = (node[':@'] ?? {}) as Record<string, string>;
  const children: El[] = [];
  let text = '';
  for (const k of kids) {
    if ('#text' in k) text += String(k['#text']);
    else {
      const el = toEl(k);
      if (el) children.push(el);
    }
  }
  return { name, attrs, children, text };
}

class Invalid extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
const fail = (message: string): never => {
  throw new Invalid(4100, message);
};

/** Characters XML 1.0 forbids, raw or as character references. */
function badCharacters(xml: string): boolean {
  // eslint-disable-next-line no-control-regex -- the check is for control characters
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(xml)) return true;
  for (const m of xml.matchAll(/&#(x[0-9a-f]+|[0-9]+);/gi)) {
    const ref = m[1]!;
    const cp = ref[0] === 'x' || ref[0] === 'X' ? parseInt(ref.slice(1), 16) : parseInt(ref, 10);
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
    if (!ok) return true;
  }
  return false;
}

/** Parses a received XML document with the expected root, or throws Invalid (4110 / 4100). */
function parseDocument(raw: string, root: string): { el: El; obj: Record<string, any> } {
  if (/<!DOCTYPE/i.test(raw)) throw new Invalid(4110, 'DOCTYPE declarations are not accepted');
  if (badCharacters(raw)) throw new Invalid(4110, 'the document contains characters XML 1.0 does not allow');
  try {
    SyntaxValidator.validate(raw);
  } catch (err) {
    throw new Invalid(4110, `not well-formed: ${(err as Error).message}`);
  }
  const nodes = ordered.parse(raw) as Record<string, unknown>[];
  const tops = nodes.map(toEl).filter((e): e is El => e !== undefined && e.name !== '?xml');
  if (tops.length !== 1 || tops[0]!.name !== root) fail(`the root element must be <${root}>`);
  const obj = plain.parse(raw) as Record<string, any>;
  return { el: tops[0]!, obj: (obj[root] ?? {}) as Record<string, any> };
}

function checkSequence(el: El, seq: Seq, where: string): void {
  let i = 0;
  for (const [name, min, max] of seq) {
    let n = 0;
    while (i < el.children.length && el.children[i]!.name === name && (max === -1 || n < max)) {
      i++;
      n++;
    }
    if (n < min) fail(`${where}: <${name}> is required${i < el.children.length ? ` before <${el.children[i]!.name}>` : ''}`);
  }
  if (i < el.children.length) fail(`${where}: <${el.children[i]!.name}> is unknown or out of order`);
}

const child = (el: El, name: string) => el.children.find((c) => c.name === name);
const all = (el: El, name: string) => el.children.filter((c) => c.name === name);

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
function checkDate(el: El | undefined, where: string): void {
  if (el && (!ISO_WITH_ZONE.test(el.text) || Number.isNaN(Date.parse(el.text)))) fail(`${where} must be an ISO 8601 date and time with a zone`);
}
function checkBool(el: El | undefined, where: string): void {
  if (el && el.text !== 'true' && el.text !== 'false') fail(`${where} must be true or false`);
}
function checkEnum(el: El | undefined, allowed: readonly string[], where: string): void {
  if (el && !allowed.includes(el.text)) fail(`${where} "${el.text}" is not one of the allowed values`);
}
function checkEmptyFlags(el: El | undefined, allowed: readonly string[], where: string): void {
  for (const c of el?.children ?? []) if (!allowed.includes(c.name) || c.text !== '' || c.children.length > 0) fail(`${where}: <${c.name}> is not allowed`);
}
function checkUrl(el: El, where: string): void {
  let ok = el.text.length <= 2083;
  try {
    ok &&= ['http:', 'https:'].includes(new URL(el.text).protocol);
  } catch {
    ok = false;
  }
  if (!ok) fail(`${where} must be a valid URL`);
}
function checkEmail(el: El, where: string): void {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(el.text)) fail(`${where} must be an email address`);
  checkBool(el.attrs.verified === undefined ? undefined : { ...el, text: el.attrs.verified }, `${where}@verified`);
}
function checkIpCapture(el: El, where: string): void {
  checkSequence(el, SEQ.ipCaptureEvent!, where);
  if (net.isIP(child(el, 'ipAddress')!.text) === 0) fail(`${where}/ipAddress must be an IP address`);
  checkEnum(child(el, 'eventName'), IP_EVENTS, `${where}/eventName`);
  checkDate(child(el, 'dateTime'), `${where}/dateTime`);
  checkBool(child(el, 'possibleProxy'), `${where}/possibleProxy`);
  const port = child(el, 'port');
  if (port && !/^\d{1,5}$/.test(port.text)) fail(`${where}/port must be a port number`);
}
function checkPerson(el: El, where: string): void {
  checkSequence(el, SEQ.person!, where);
  for (const e of all(el, 'email')) checkEmail(e, `${where}/email`);
}

function validateReport(el: El): void {
  checkSequence(el, SEQ.report!, 'report');
  const summary = child(el, 'incidentSummary')!;
  checkSequence(summary, SEQ.incidentSummary!, 'incidentSummary');
  checkEnum(child(summary, 'incidentType'), fakeIncidentTypes, 'incidentType');
  checkDate(child(summary, 'incidentDateTime'), 'incidentDateTime');
  checkEmptyFlags(child(summary, 'reportAnnotations'), REPORT_ANNOTATIONS, 'reportAnnotations');
  for (const d of all(el, 'internetDetails')) {
    if (d.children.length !== 1 || !INCIDENT_KINDS.includes(d.children[0]!.name)) fail('internetDetails must hold exactly one incident element');
    const web = child(d, 'webPageIncident');
    if (web) {
      checkSequence(web, SEQ.webPageIncident!, 'webPageIncident');
      for (const u of all(web, 'url')) checkUrl(u, 'webPageIncident/url');
      const third = web.attrs.thirdPartyHostedContent;
      if (third !== undefined && third !== 'true' && third !== 'false') fail('webPageIncident@thirdPartyHostedContent must be true or false');
    }
  }
  const reporter = child(el, 'reporter');
  if (reporter) {
    checkSequence(reporter, SEQ.reporter!, 'reporter');
    checkPerson(child(reporter, 'reportingPerson')!, 'reporter/reportingPerson');
    const legal = child(reporter, 'legalUrl');
    if (legal) checkUrl(legal, 'reporter/legalUrl');
  }
  for (const p of all(el, 'personOrUserReported')) {
    checkSequence(p, SEQ.personOrUserReported!, 'personOrUserReported');
    const person = child(p, 'personOrUserReportedPerson');
    if (person) checkPerson(person, 'personOrUserReportedPerson');
    for (const u of all(p, 'profileUrl')) checkUrl(u, 'personOrUserReported/profileUrl');
    for (const c of all(p, 'ipCaptureEvent')) checkIpCapture(c, 'personOrUserReported/ipCaptureEvent');
  }
}

function validateFileDetails(el: El): void {
  checkSequence(el, SEQ.fileDetails!, 'fileDetails');
  if (!/^\d+$/.test(child(el, 'reportId')!.text)) fail('reportId must be a number');
  if (child(el, 'fileId')!.text === '') fail('fileId must not be blank');
  const original = child(el, 'originalFileName');
  if (original && original.text.length > 2056) fail('originalFileName is longer than 2056 characters');
  const location = child(el, 'locationOfFile');
  if (location) checkUrl(location, 'locationOfFile');
  for (const b of ['fileViewedByEsp', 'exifViewedByEsp', 'publiclyAvailable']) checkBool(child(el, b), b);
  if (child(el, 'exifViewedByEsp')?.text === 'true' && child(el, 'fileViewedByEsp')?.text !== 'true')
    fail('fileViewedByEsp must be "true" when exifViewedByEsp is "true"');
  checkEnum(child(el, 'fileRelevance'), ['Reported', 'Supplemental Reported'], 'fileRelevance');
  const annotations = child(el, 'fileAnnotations');
  checkEmptyFlags(annotations, FILE_ANNOTATIONS, 'fileAnnotations');
  checkEnum(child(el, 'industryClassification'), ['A1', 'A2', 'B1', 'B2'], 'industryClassification');
  if (child(el, 'fileRelevance')?.text === 'Supplemental Reported') {
    if (annotations && child(annotations, 'potentialMeme')) fail('a Supplemental Reported file cannot be a potential meme');
    if (child(el, 'industryClassification')) fail('a Supplemental Reported file cannot have an industry classification');
  }
  for (const h of all(el, 'originalFileHash')) {
    if (!h.attrs.hashType) fail('originalFileHash needs a hashType attribute');
    if (h.text === '' || h.text.length > 64) fail('originalFileHash must have 1 to 64 characters');
  }
  const ip = child(el, 'ipCaptureEvent');
  if (ip) checkIpCapture(ip, 'fileDetails/ipCaptureEvent');
  for (const d of all(el, 'details')) {
    checkSequence(d, SEQ.details!, 'details');
    if (d.attrs.type !== undefined && !['EXIF', 'HASH'].includes(d.attrs.type)) fail('details@type must be EXIF or HASH');
    for (const p of d.children) {
      checkSequence(p, SEQ.nameValuePair!, 'nameValuePair');
      if (child(p, 'name')!.text.length > 64) fail('nameValuePair/name is longer than 64 characters');
    }
  }
}

// --- the server -------------------------------------------------------------------------------------

interface Reply {
  status?: number;
  code: number;
  description?: string;
  /** more children of the answer, in order */
  fields?: [string, string][];
  /** `<reportDoneResponse>` with `<files>` */
  done?: { reportId: string; fileIds: string[] };
}

const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' };
const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => ENTITIES[c] ?? c);

/** Start a fake CyberTipline on 127.0.0.1 (a random port unless `port` is given). */
/** The settings that point a server at this fake, with a reporter contact. */
export function cyberTipEnv(tip: Pick<FakeCyberTip, 'url' | 'username' | 'password'>): Record<string, string> {
  return {
    NCMEC_USERNAME: tip.username,
    NCMEC_PASSWORD: tip.password,
    NCMEC_BASE_URL: tip.url,
    NCMEC_REPORTER_FIRST_NAME: 'Trust',
    NCMEC_REPORTER_LAST_NAME: 'Safety',
    NCMEC_REPORTER_EMAIL: 'safety@example.com',
  };
}

export async function startFakeCyberTip(opts: FakeCyberTipOptions = {}): Promise<FakeCyberTip> {
  const username = opts.username ?? 'esp-test';
  const password = opts.password ?? 'esp-test-password';
  const expiry = opts.expiry === undefined ? { idleMs: 3_600_000, totalMs: 86_400_000 } : opts.expiry;
  const now = opts.now ?? Date.now;
  const reports = new Map<string, FakeCyberTipReport>();
  const requests: FakeCyberTipRequest[] = [];
  const failures = new Map<CyberTipStep, CyberTipFailure[]>();
  let nextReportId = 100_000 + Math.floor(Math.random() * 900_000);
  let base = '';

  const expected = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;

  /** the report of `id` when it is still there (expiry applied), else undefined */
  function lookup(id: string | null | undefined): FakeCyberTipReport | undefined {
    const r = id ? reports.get(id.trim()) : undefined;
    if (r && r.state === 'open' && expiry && (now() - r.updatedAt > expiry.idleMs || now() - r.openedAt > expiry.totalMs)) r.state = 'expired';
    return r;
  }

  /** the open report of `id`, or the error for why it is not */
  function openReport(id: string | null | undefined): FakeCyberTipReport {
    const r = lookup(id);
    if (!r || r.state === 'expired') throw new Invalid(5001, DESCRIPTIONS[5001]!);
    if (r.state === 'retracted') throw new Invalid(5101, DESCRIPTIONS[5101]!);
    if (r.state === 'finished') throw new Invalid(5102, DESCRIPTIONS[5102]!);
    return r;
  }

  const isXml = (ct: string | undefined) => /^(text|application)\/xml\b/i.test(ct ?? '');

  async function form(req: http.IncomingMessage, raw: Buffer): Promise<{ get(name: string): FormDataEntryValue | null }> {
    const ct = req.headers['content-type'] ?? '';
    if (/^application\/x-www-form-urlencoded\b/i.test(ct)) return new URLSearchParams(raw.toString('utf8'));
    if (/^multipart\/form-data\b/i.test(ct)) {
      try {
        return await new Request('http://fake.invalid/', { method: 'POST', headers: { 'content-type': ct }, body: new Uint8Array(raw) }).formData();
      } catch {
        throw new Invalid(4000, 'the multipart body cannot be parsed');
      }
    }
    throw new Invalid(4000, 'the body must be multipart/form-data or application/x-www-form-urlencoded');
  }

  const idOf = (f: { get(name: string): FormDataEntryValue | null }) => {
    const id = f.get('id');
    if (typeof id !== 'string' || id.trim() === '') throw new Invalid(4000, 'the form field id is required');
    return id.trim();
  };

  async function handle(step: CyberTipStep, req: http.IncomingMessage, raw: Buffer): Promise<Reply> {
    switch (step) {
      case 'status':
        return { code: 0, description: `Remote User : ${username}, Remote Ip : ${req.socket.remoteAddress ?? 'unknown'}` };
      case 'xsd':
        return { code: 0 };
      case 'submit': {
        if (!isXml(req.headers['content-type'])) throw new Invalid(4110, 'the report must be sent as text/xml');
        const xml = raw.toString('utf8');
        const { el, obj } = parseDocument(xml, 'report');
        validateReport(el);
        const reportId = String(nextReportId++);
        const t = now();
        reports.set(reportId, { reportId, xml, report: obj, state: 'open', openedAt: t, updatedAt: t, files: [] });
        return { code: 0, fields: [['reportId', reportId]] };
      }
      case 'upload': {
        const f = await form(req, raw);
        const r = openReport(idOf(f));
        const file = f.get('file');
        if (!file || typeof file === 'string') throw new Invalid(4200, 'the form field file must be a file');
        const bytes = Buffer.from(await file.arrayBuffer());
        if (bytes.length === 0) throw new Invalid(4200, 'the file is empty');
        const md5 = createHash('md5').update(bytes).digest('hex');
        const fileId = randomBytes(16).toString('hex');
        r.files.push({
          fileId,
          fileName: file instanceof File ? file.name : 'blob',
          contentType: file.type,
          bytes,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          md5,
          uploadedAt: now(),
          detailsCount: 0,
        });
        r.updatedAt = now();
        return {
          code: 0,
          fields: [
            ['reportId', r.reportId],
            ['fileId', fileId],
            ['hash', md5],
          ],
        };
      }
      case 'fileinfo': {
        if (!isXml(req.headers['content-type'])) throw new Invalid(4110, 'the file details must be sent as text/xml');
        const xml = raw.toString('utf8');
        const { el, obj } = parseDocument(xml, 'fileDetails');
        validateFileDetails(el);
        const r = openReport(child(el, 'reportId')!.text);
        const file = r.files.find((x) => x.fileId === child(el, 'fileId')!.text);
        if (!file) throw new Invalid(5002, DESCRIPTIONS[5002]!);
        file.detailsXml = xml;
        file.details = obj;
        file.detailsCount++;
        r.updatedAt = now();
        return { code: 0, fields: [['reportId', r.reportId]] };
      }
      case 'finish': {
        const r = openReport(idOf(await form(req, raw)));
        r.state = 'finished';
        r.updatedAt = now();
        return { code: 0, done: { reportId: r.reportId, fileIds: r.files.map((x) => x.fileId) } };
      }
      case 'retract': {
        const r = openReport(idOf(await form(req, raw)));
        r.state = 'retracted';
        r.updatedAt = now();
        return { code: 0, fields: [['reportId', r.reportId]] };
      }
    }
  }

  function answer(res: http.ServerResponse, reply: Reply, log: FakeCyberTipRequest): void {
    log.responseCode = reply.code;
    const status = reply.status ?? (opts.errorsAsHttp200 ? 200 : httpStatusFor(reply.code));
    let body: string;
    if (reply.done) {
      const files = reply.done.fileIds.map((id) => `<fileId>${id}</fileId>`).join('');
      body = `<reportDoneResponse><responseCode>0</responseCode><reportId>${reply.done.reportId}</reportId><files>${files}</files></reportDoneResponse>`;
    } else {
      const extra = (reply.fields ?? []).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
      const description = escapeXml(reply.description ?? DESCRIPTIONS[reply.code] ?? 'Error');
      body = `<reportResponse><responseCode>${reply.code}</responseCode><responseDescription>${description}</responseDescription>${extra}</reportResponse>`;
    }
    const headers: Record<string, string> = { 'content-type': 'application/xml; charset=utf-8', 'request-id': randomUUID() };
    if (status === 401) headers['www-authenticate'] = 'Basic realm="CyberTipline"';
    res.writeHead(status, headers).end(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${body}`);
  }

  const XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><!-- fake CyberTipline: the real schema is NCMEC's; this fake checks the rules in tests/fakes/ncmec.ts --><xs:element name="report"/><xs:element name="fileDetails"/></xs:schema>`;

  const ROUTES: Record<string, { step: CyberTipStep; method: 'GET' | 'POST' }> = {
    '/ispws/status': { step: 'status', method: 'GET' },
    '/ispws/xsd': { step: 'xsd', method: 'GET' },
    '/ispws/submit': { step: 'submit', method: 'POST' },
    '/ispws/upload': { step: 'upload', method: 'POST' },
    '/ispws/fileinfo': { step: 'fileinfo', method: 'POST' },
    '/ispws/finish': { step: 'finish', method: 'POST' },
    '/ispws/retract': { step: 'retract', method: 'POST' },
  };

  async function route(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer, log: FakeCyberTipRequest): Promise<void> {
    const r = ROUTES[log.path];
    if (!r) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    if (req.method !== r.method) return void res.writeHead(405, { allow: r.method, 'content-type': 'text/plain' }).end('Method Not Allowed');
    if (req.headers.authorization !== expected) {
      answer(res, { code: 2000, ...(opts.authFailure === 'code-2000' ? { status: 200 } : { status: 401 }) }, log);
      return;
    }
    const failure = failures.get(r.step)?.shift();
    if (failure?.kind === 'timeout') return; // never answered; close() drops the connection
    if (failure?.kind === 'http')
      return void res.writeHead(failure.status, { 'content-type': 'text/html' }).end(`<html><body>HTTP ${failure.status}</body></html>`);
    if (failure?.kind === 'code') {
      answer(res, { code: failure.code }, log);
      return;
    }
    let reply: Reply;
    try {
      reply = await handle(r.step, req, raw);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      reply = { code: err.code, description: `${DESCRIPTIONS[err.code] ?? 'Error'}: ${err.message}` };
    }
    if (failure?.kind === 'drop-after') {
      log.responseCode = reply.code;
      return void res.socket?.destroy();
    }
    if (r.step === 'xsd' && reply.code === 0) return void res.writeHead(200, { 'content-type': 'application/xml', 'request-id': randomUUID() }).end(XSD);
    answer(res, reply, log);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const log: FakeCyberTipRequest = {
        method: req.method ?? 'GET',
        path: new URL(req.url ?? '/', base).pathname,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        size: raw.length,
      };
      requests.push(log);
      route(req, res, raw, log).catch((err: unknown) => {
        if (res.headersSent) return void res.end();
        answer(res, { code: 1000, description: `Server error: ${err instanceof Error ? err.message : String(err)}` }, log);
      });
    });
  });

  base = await listenLocal(server, opts);

  return {
    url: `${base}/ispws`,
    username,
    password,
    reports,
    requests,
    failNext(step, failure, times = 1) {
      const queue = failures.get(step) ?? [];
      for (let i = 0; i < times; i++) queue.push(failure);
      failures.set(step, queue);
    },
    report(reportId) {
      const r = lookup(reportId);
      if (!r) throw new Error(`fake CyberTipline: no report ${reportId} (there are: ${[...reports.keys()].join(', ') || 'none'})`);
      return r;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
