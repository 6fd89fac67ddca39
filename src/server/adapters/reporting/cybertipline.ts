import { createHash } from 'node:crypto';
import net from 'node:net';
import XMLBuilder from 'fast-xml-builder';
import { XMLParser } from 'fast-xml-parser';
import { isLoopbackHost } from '../../lib/loopback';
import { clip } from '../../lib/upstream-text';
import {
  fileAnnotations,
  fileRelevances,
  incidentTypes,
  industryClassifications,
  ipEventNames,
  reportAnnotations,
  ReporterError,
  type CsamReporter,
  type FileDescription,
  type FinishedReport,
  type Incident,
  type IpCapture,
  type OpenedReport,
  type ReporterContact,
  type ReporterErrorKind,
  type ReporterStatus,
  type ReportProgress,
  type UploadedFile,
} from './reporter';

/**
 * NCMEC's CyberTipline reporting web service ("ISPWS"; docs/provider-apis.md §7 in the shared docs),
 * over plain `fetch`.
 *
 * - Base URL: `https://exttest.cybertip.org/ispws` (test) or `https://report.cybertip.org/ispws`
 *   (production). HTTPS only, except to a loopback host (the local fake). Redirects are refused, so
 *   the credentials go to the configured host and nowhere else.
 * - Auth: HTTP Basic with the NCMEC-issued username and password, on every request. Neither is
 *   logged, put in an error or exposed on the returned object.
 * - Requests: `/submit` and `/fileinfo` take an XML document (`text/xml; charset=utf-8`, the type
 *   the known clients send; the official one is UNCONFIRMED); `/upload` takes multipart `id` +
 *   `file`; `/finish` and `/retract` take the form field `id`, sent as multipart like the TypeScript
 *   client (multipart vs urlencoded is UNCONFIRMED).
 * - XML is built with fast-xml-parser's builder (escaped), elements in the order the client
 *   libraries' snapshots show (the XSD's sequence is UNCONFIRMED). Free text loses the characters
 *   XML 1.0 cannot carry (NUL and other C0 controls but tab/newline, DEL, C1 controls, lone
 *   surrogates); identifiers (emails, IPs, URLs, hashes, ids) that contain them are refused.
 * - Answers: `<reportResponse>` / `<reportDoneResponse>` with `responseCode` (0 = success). Which
 *   HTTP status comes with an error is UNCONFIRMED, so a responseCode in the body decides when
 *   there is one, and the HTTP status when there is not. Answers larger than 1 MiB or carrying a
 *   DOCTYPE are refused before parsing.
 */
export interface CyberTiplineOptions {
  /** e.g. https://exttest.cybertip.org/ispws (no trailing slash needed) */
  baseUrl: string;
  username: string;
  password: string;
  /** per request except uploads, default 30 s */
  timeoutMs?: number;
  /** per upload, default 10 minutes */
  uploadTimeoutMs?: number;
  /** the operator's person filing reports */
  reporter: ReporterContact;
}

export const CYBERTIPLINE_TEST_URL = 'https://exttest.cybertip.org/ispws';
export const CYBERTIPLINE_PRODUCTION_URL = 'https://report.cybertip.org/ispws';
const SCHEMA_LOCATION = 'https://report.cybertip.org/ispws/xsd';
const MAX_RESPONSE_BYTES = 1024 * 1024;

type Node = Record<string, unknown>;

// --- text ------------------------------------------------------------------------------------------

/** Characters XML 1.0 cannot carry or that mean nothing in a report: C0 controls but \t \n \r, DEL, C1, U+FFFE/FFFF. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]/g;
/** a UTF-16 surrogate without its pair (cannot be encoded as UTF-8) */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Free text as the report can carry it: unencodable and control characters removed. */
export function cleanText(value: string): string {
  return value.replace(CONTROL, '').replace(LONE_SURROGATE, '');
}

const invalid = (message: string) => new ReporterError('invalid', message, { step: 'input', retryable: false });

function hasControl(value: string): boolean {
  return cleanText(value) !== value;
}

function text(field: string, value: string, max = 10_000): string {
  const cleaned = cleanText(value).trim();
  if (cleaned.length > max) throw invalid(`${field} is longer than ${max} characters`);
  return cleaned;
}

/** A value with a format: refused (not cleaned) when it has control characters or the wrong shape. */
function strict(field: string, value: string, ok: (v: string) => boolean, shape: string): string {
  if (hasControl(value)) throw invalid(`${field} contains control characters`);
  const v = value.trim();
  if (!ok(v)) throw invalid(`${field} must be ${shape} (got ${JSON.stringify(clip(v, 80))})`);
  return v;
}

const isEmail = (v: string) => v.length <= 254 && /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(v);
const isHttpUrl = (max: number) => (v: string) => {
  if (v.length > max || /\s/.test(v)) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};
const isReportId = (v: string) => /^\d{1,19}$/.test(v);
const isFileId = (v: string) => /^[A-Za-z0-9_-]{1,128}$/.test(v);

function isoDate(field: string, d: Date): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw invalid(`${field} must be a valid date`);
  return d.toISOString();
}

function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw invalid(`${field} must be one of: ${allowed.join(', ')} (got ${JSON.stringify(clip(value, 80))})`);
  return value as T;
}

const bool = (b: boolean) => (b ? 'true' : 'false');

/** An object without its undefined members (the builder would print them as empty elements). */
function compact(node: Record<string, unknown>): Node {
  return Object.fromEntries(Object.entries(node).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
}

// --- XML out ---------------------------------------------------------------------------------------

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // `<sextortion/>`: annotations are empty elements
  suppressEmptyNode: true,
  // `verified="true"`, never the bare `verified` (not XML)
  suppressBooleanAttributes: false,
  processEntities: true,
});

function document(root: string, body: Node): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    [root]: { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:noNamespaceSchemaLocation': SCHEMA_LOCATION, ...body },
  });
}

function ipCapture(field: string, c: IpCapture): Node {
  return compact({
    ipAddress: strict(`${field}.ip`, c.ip, (v) => net.isIP(v) !== 0, 'an IPv4 or IPv6 address'),
    eventName: c.event === undefined ? undefined : oneOf(`${field}.event`, c.event, ipEventNames),
    dateTime: c.at === undefined ? undefined : isoDate(`${field}.at`, c.at),
    possibleProxy: c.possibleProxy === undefined ? undefined : bool(c.possibleProxy),
    port: c.port === undefined ? undefined : String(portNumber(`${field}.port`, c.port)),
  });
}

function portNumber(field: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalid(`${field} must be a port number`);
  return port;
}

function email(field: string, address: string, verified?: boolean): Node | string {
  const v = strict(field, address, isEmail, 'an email address');
  return verified === undefined ? v : { '#text': v, '@_verified': bool(verified) };
}

function reporterNode(contact: ReporterContact): Node {
  return compact({
    reportingPerson: compact({
      firstName: text('reporter.firstName', contact.firstName, 200),
      lastName: text('reporter.lastName', contact.lastName, 200),
      phone: contact.phone === undefined ? undefined : strict('reporter.phone', contact.phone, (v) => /^[0-9+()\-. ]{3,40}$/.test(v), 'a phone number'),
      email: email('reporter.email', contact.email),
    }),
    companyTemplate: contact.companyTemplate === undefined ? undefined : text('reporter.companyTemplate', contact.companyTemplate),
    termsOfService: contact.termsOfService === undefined ? undefined : text('reporter.termsOfService', contact.termsOfService),
    legalUrl: contact.legalUrl === undefined ? undefined : strict('reporter.legalUrl', contact.legalUrl, isHttpUrl(2083), 'an http(s) URL'),
  });
}

/** The `<report>` document for an incident (throws ReporterError 'invalid' on bad input). */
export function buildReportXml(incident: Incident, contact: ReporterContact): string {
  const type = oneOf('incidentType', incident.incidentType, incidentTypes);
  const summary = compact({
    incidentType: type,
    escalateToHighPriority: incident.escalateToHighPriority === undefined ? undefined : text('escalateToHighPriority', incident.escalateToHighPriority, 2000),
    reportAnnotations:
      incident.annotations && incident.annotations.length > 0
        ? Object.fromEntries(incident.annotations.map((a) => [oneOf('annotations', a, reportAnnotations), '']))
        : undefined,
    incidentDateTime: isoDate('occurredAt', incident.occurredAt),
    incidentDateTimeDescription: incident.occurredAtDescription === undefined ? undefined : text('occurredAtDescription', incident.occurredAtDescription, 2000),
  });
  const web = incident.webPage;
  let internetDetails: Node[] | undefined;
  if (web) {
    if (web.urls.length === 0) throw invalid('webPage.urls must name at least one URL');
    internetDetails = [
      {
        webPageIncident: compact({
          '@_thirdPartyHostedContent': web.thirdPartyHostedContent === undefined ? undefined : bool(web.thirdPartyHostedContent),
          url: web.urls.map((u, i) => strict(`webPage.urls[${i}]`, u, isHttpUrl(2083), 'an http(s) URL')),
          additionalInfo: web.additionalInfo === undefined ? undefined : text('webPage.additionalInfo', web.additionalInfo),
        }),
      },
    ];
  }
  const u = incident.reportedUser;
  let reported: Node | undefined;
  if (u) {
    const person = compact({
      firstName: u.firstName === undefined ? undefined : text('reportedUser.firstName', u.firstName, 200),
      lastName: u.lastName === undefined ? undefined : text('reportedUser.lastName', u.lastName, 200),
      email: u.emails?.map((e, i) => email(`reportedUser.emails[${i}]`, e.address, e.verified)),
    });
    reported = compact({
      personOrUserReportedPerson: Object.keys(person).length > 0 ? person : undefined,
      espIdentifier: u.espIdentifier === undefined ? undefined : text('reportedUser.espIdentifier', u.espIdentifier, 500),
      espService: u.espService === undefined ? undefined : text('reportedUser.espService', u.espService, 500),
      screenName: u.screenName === undefined ? undefined : text('reportedUser.screenName', u.screenName, 500),
      displayName: u.displayNames?.map((n) => text('reportedUser.displayNames', n, 500)),
      profileUrl: u.profileUrls?.map((p, i) => strict(`reportedUser.profileUrls[${i}]`, p, isHttpUrl(2083), 'an http(s) URL')),
      ipCaptureEvent: u.ipCaptures?.map((c, i) => ipCapture(`reportedUser.ipCaptures[${i}]`, c)),
      additionalInfo: u.additionalInfo === undefined ? undefined : text('reportedUser.additionalInfo', u.additionalInfo),
    });
  }
  return document(
    'report',
    compact({
      incidentSummary: summary,
      internetDetails,
      reporter: reporterNode(contact),
      personOrUserReported: reported,
      additionalInfo: incident.additionalInfo === undefined ? undefined : text('additionalInfo', incident.additionalInfo),
    }),
  );
}

/** The `<fileDetails>` document for an uploaded file (throws ReporterError 'invalid' on bad input). */
export function buildFileDetailsXml(reportId: string, fileId: string, d: FileDescription, uploaded?: Pick<UploadedFile, 'sha256' | 'md5'>): string {
  strict('reportId', reportId, isReportId, 'a CyberTipline report id (digits)');
  strict('fileId', fileId, isFileId, 'a CyberTipline file id');
  if (d.exifViewedByEsp === true && d.viewedByEsp !== true) throw invalid('exifViewedByEsp requires viewedByEsp (the schema ties them)');
  const relevance = d.relevance === undefined ? undefined : oneOf('relevance', d.relevance, fileRelevances);
  if (relevance === 'Supplemental Reported' && (d.annotations?.includes('potentialMeme') || d.industryClassification !== undefined))
    throw invalid('a "Supplemental Reported" file cannot be marked potentialMeme or given an industry classification');
  const given = d.hashes && d.hashes.length > 0 ? d.hashes : undefined;
  const hashes =
    given ??
    (uploaded
      ? [
          { type: 'SHA256', value: uploaded.sha256 },
          { type: 'MD5', value: uploaded.md5 },
        ]
      : []);
  return document(
    'fileDetails',
    compact({
      reportId: reportId.trim(),
      fileId: fileId.trim(),
      originalFileName: d.originalFileName === undefined ? undefined : text('originalFileName', d.originalFileName, 2056),
      locationOfFile: d.locationOfFile === undefined ? undefined : strict('locationOfFile', d.locationOfFile, isHttpUrl(2083), 'an http(s) URL'),
      fileViewedByEsp: d.viewedByEsp === undefined ? undefined : bool(d.viewedByEsp),
      exifViewedByEsp: d.exifViewedByEsp === undefined ? undefined : bool(d.exifViewedByEsp),
      publiclyAvailable: d.publiclyAvailable === undefined ? undefined : bool(d.publiclyAvailable),
      fileRelevance: relevance,
      fileAnnotations:
        d.annotations && d.annotations.length > 0 ? Object.fromEntries(d.annotations.map((a) => [oneOf('annotations', a, fileAnnotations), ''])) : undefined,
      industryClassification:
        d.industryClassification === undefined ? undefined : oneOf('industryClassification', d.industryClassification, industryClassifications),
      originalFileHash: hashes.map((h, i) => ({
        '#text': strict(`hashes[${i}].value`, h.value, (v) => /^[A-Za-z0-9+/=_-]{1,64}$/.test(v), 'a hash of at most 64 characters'),
        '@_hashType': strict(`hashes[${i}].type`, h.type, (v) => /^[A-Za-z0-9-]{1,32}$/.test(v), 'a hash type such as MD5 or SHA1'),
      })),
      ipCaptureEvent: d.uploadIp === undefined ? undefined : ipCapture('uploadIp', d.uploadIp),
      details: d.details?.map((det, i) => {
        if (det.pairs.length === 0) throw invalid(`details[${i}] needs at least one name/value pair`);
        return compact({
          '@_type': det.type === undefined ? undefined : oneOf(`details[${i}].type`, det.type, ['EXIF', 'HASH'] as const),
          nameValuePair: det.pairs.map((p) => ({ name: text(`details[${i}].name`, p.name, 64), value: text(`details[${i}].value`, p.value) })),
        });
      }),
      additionalInfo: d.additionalInfo?.map((a) => text('additionalInfo', a)),
    }),
  );
}

// --- XML in ----------------------------------------------------------------------------------------

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  // numeric character references (&#39;) too, which the XML entities alone leave as they are
  htmlEntities: true,
  maxNestedTags: 20,
});

interface Answer {
  root: 'reportResponse' | 'reportDoneResponse';
  code: number;
  description: string;
  fields: Node;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** The service's XML answer, or undefined when the body is not one. */
export function parseAnswer(body: string): Answer | undefined {
  if (!body.trim().startsWith('<') || /<!DOCTYPE/i.test(body)) return undefined;
  let doc: unknown;
  try {
    doc = parser.parse(body);
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object') return undefined;
  const d = doc as Node;
  const root = 'reportDoneResponse' in d ? 'reportDoneResponse' : 'reportResponse' in d ? 'reportResponse' : undefined;
  if (!root) return undefined;
  const fields = d[root];
  if (!fields || typeof fields !== 'object') return undefined;
  const f = fields as Node;
  const code = str(f.responseCode);
  if (code === undefined || !/^-?\d+$/.test(code.trim())) return undefined;
  return { root, code: Number(code), description: str(f.responseDescription) ?? '', fields: f };
}

/** What a responseCode means for the caller. */
export function classifyCode(code: number): { kind: ReporterErrorKind; retryable: boolean } {
  if (code >= 1000 && code < 2000) return code === 1210 ? { kind: 'not_found', retryable: false } : { kind: 'server', retryable: true };
  if (code >= 2000 && code < 4000) return { kind: 'auth', retryable: false };
  if (code >= 4000 && code < 5000) return { kind: 'invalid', retryable: false };
  if (code === 5001 || code === 5002) return { kind: 'not_found', retryable: false };
  if (code === 5101) return { kind: 'retracted', retryable: false };
  if (code === 5102) return { kind: 'already_finished', retryable: false };
  return { kind: 'protocol', retryable: false };
}

/** Reads at most `max` bytes of a body (the rest is not downloaded). */
async function readBounded(res: Response, max: number): Promise<{ text: string; tooLarge: boolean }> {
  if (!res.body) return { text: '', tooLarge: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return { text: '', tooLarge: true };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), tooLarge: false };
}

// --- the adapter -----------------------------------------------------------------------------------

/** A base URL the adapter will talk to: https (or http to this machine), no credentials, no query. */
export function checkBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error('the CyberTipline base URL is not a URL');
  }
  if (u.username || u.password) throw new Error('the CyberTipline base URL must not carry credentials (give username and password)');
  if (u.search || u.hash) throw new Error('the CyberTipline base URL must not have a query or fragment');
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.host)))
    throw new Error('the CyberTipline base URL must be https (plain http only to this machine, for the local fake)');
  return u.toString().replace(/\/+$/, '');
}

export function createCyberTiplineReporter(opts: CyberTiplineOptions): CsamReporter {
  const baseUrl = checkBaseUrl(opts.baseUrl);
  if (!opts.username || !opts.password) throw new Error('the CyberTipline username and password are required');
  if (opts.username.includes(':')) throw new Error('the CyberTipline username cannot contain ":" (HTTP Basic)');
  const authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`, 'utf8').toString('base64')}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const uploadTimeoutMs = opts.uploadTimeoutMs ?? 600_000;
  const contact = opts.reporter;
  // fail at start-up, not at the first report, when the operator's contact is unusable
  reporterNode(contact);

  async function call(
    step: string,
    path: string,
    init: { method: 'GET' | 'POST'; body?: string | FormData; xml?: boolean; timeoutMs?: number },
  ): Promise<Answer & { requestId?: string }> {
    const limit = init.timeoutMs ?? timeoutMs;
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method: init.method,
        headers: { authorization, accept: 'text/xml, application/xml', ...(init.xml ? { 'content-type': 'text/xml; charset=utf-8' } : {}) },
        ...(init.body === undefined ? {} : { body: init.body }),
        redirect: 'manual',
        signal: AbortSignal.timeout(limit),
      });
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      throw new ReporterError(
        'network',
        timedOut ? `CyberTipline ${step} did not answer within ${limit} ms` : `CyberTipline ${step} could not be reached (${clip(e.message, 120)})`,
        { step, retryable: true, cause: err },
      );
    }
    const requestId = res.headers.get('request-id') ?? undefined;
    const rid = requestId === undefined ? {} : { requestId };
    let body: { text: string; tooLarge: boolean };
    try {
      body = await readBounded(res, MAX_RESPONSE_BYTES);
    } catch (err) {
      throw new ReporterError('network', `CyberTipline ${step}: the answer was cut off (${clip((err as Error).message, 120)})`, {
        step,
        status: res.status,
        retryable: true,
        cause: err,
        ...rid,
      });
    }
    if (res.status >= 300 && res.status < 400)
      throw new ReporterError('protocol', `CyberTipline ${step} answered a redirect (HTTP ${res.status}); redirects are not followed`, {
        step,
        status: res.status,
        ...rid,
      });
    const answer = body.tooLarge ? undefined : parseAnswer(body.text);
    if (answer && answer.code !== 0) {
      const c = classifyCode(answer.code);
      // a code in the body decides; an HTTP 5xx with a code we would not retry stays not retryable
      throw new ReporterError(c.kind, `CyberTipline ${step} refused: ${answer.code} ${clip(answer.description, 200)}`.trim(), {
        step,
        retryable: c.retryable,
        responseCode: answer.code,
        status: res.status,
        ...rid,
      });
    }
    if (!res.ok) {
      const status = res.status;
      const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
      // without a responseCode a 404 says the endpoint is missing (a wrong base URL), not that a report is
      const kind: ReporterErrorKind = status === 401 || status === 403 ? 'auth' : retryable ? 'server' : status === 404 ? 'protocol' : 'invalid';
      const hint = status === 404 ? ' (is the base URL right?)' : '';
      throw new ReporterError(kind, `CyberTipline ${step} answered HTTP ${status}${res.statusText ? ` ${res.statusText}` : ''}${hint}`, {
        step,
        status,
        retryable,
        ...rid,
      });
    }
    if (!answer)
      throw new ReporterError(
        'protocol',
        `CyberTipline ${step} answered HTTP ${res.status} without a reportResponse${body.tooLarge ? ' (the answer is larger than 1 MiB)' : ''}`,
        // the request may or may not have taken effect; a retry of a step is safe (see the port)
        { step, status: res.status, retryable: true, ...rid },
      );
    return { ...answer, ...rid };
  }

  const idForm = (reportId: string) => {
    const form = new FormData();
    form.append('id', reportId);
    return form;
  };

  const checkReportId = (reportId: string) => strict('reportId', reportId, isReportId, 'a CyberTipline report id (digits)');

  async function status(): Promise<ReporterStatus> {
    const a = await call('status', '/status', { method: 'GET' });
    const m = /Remote User\s*:\s*([^,]*?)\s*,\s*Remote Ip\s*:\s*(\S+)/i.exec(a.description);
    const [, remoteUser, remoteIp] = m ?? [];
    return { description: a.description, ...(remoteUser && remoteIp ? { remoteUser, remoteIp } : {}) };
  }

  async function open(incident: Incident): Promise<OpenedReport> {
    const xml = buildReportXml(incident, contact);
    const a = await call('submit', '/submit', { method: 'POST', body: xml, xml: true });
    const reportId = str(a.fields.reportId)?.trim();
    if (!reportId || !isReportId(reportId))
      throw new ReporterError('protocol', 'CyberTipline submit succeeded but its answer has no valid reportId', {
        step: 'submit',
        retryable: true,
        ...(a.requestId === undefined ? {} : { requestId: a.requestId }),
      });
    return { reportId, ...(a.requestId === undefined ? {} : { requestId: a.requestId }) };
  }

  async function uploadFile(reportId: string, file: { bytes: Buffer; fileName: string; contentType?: string }): Promise<Omit<UploadedFile, 'described'>> {
    checkReportId(reportId);
    if (file.bytes.length === 0) throw invalid('an empty file cannot be uploaded');
    // the multipart filename: no controls, quotes or path separators, at most 255 characters
    const name =
      cleanText(file.fileName)
        .replace(/["\\/\r\n]/g, '_')
        .slice(0, 255) || 'file';
    const contentType = file.contentType && /^[\w.+-]+\/[\w.+-]+$/.test(file.contentType) ? file.contentType : 'application/octet-stream';
    const sha256 = createHash('sha256').update(file.bytes).digest('hex');
    const md5 = createHash('md5').update(file.bytes).digest('hex');
    const form = new FormData();
    form.append('id', reportId);
    form.append('file', new Blob([new Uint8Array(file.bytes)], { type: contentType }), name);
    const a = await call('upload', '/upload', { method: 'POST', body: form, timeoutMs: uploadTimeoutMs });
    const fileId = str(a.fields.fileId)?.trim();
    const rid = a.requestId === undefined ? {} : { requestId: a.requestId };
    if (!fileId || !isFileId(fileId))
      throw new ReporterError('protocol', 'CyberTipline upload succeeded but its answer has no valid fileId', { step: 'upload', retryable: true, ...rid });
    const hash = str(a.fields.hash)?.trim().toLowerCase();
    // the answer's hash is MD5 by one source (UNCONFIRMED): an MD5-shaped hash that differs means the
    // bytes arrived damaged (or the assumption is wrong); either way a person must look, so no retry
    if (hash && /^[0-9a-f]{32}$/.test(hash) && hash !== md5)
      throw new ReporterError('protocol', `CyberTipline stored file ${fileId} with MD5 ${hash}, but the bytes sent have MD5 ${md5}`, {
        step: 'upload',
        retryable: false,
        ...rid,
      });
    return { fileId, sha256, md5, size: file.bytes.length };
  }

  async function describeFile(reportId: string, fileId: string, description: FileDescription, uploaded?: Pick<UploadedFile, 'sha256' | 'md5'>): Promise<void> {
    const xml = buildFileDetailsXml(reportId, fileId, description, uploaded);
    await call('fileinfo', '/fileinfo', { method: 'POST', body: xml, xml: true });
  }

  async function finish(reportId: string): Promise<FinishedReport> {
    checkReportId(reportId);
    try {
      const a = await call('finish', '/finish', { method: 'POST', body: idForm(reportId) });
      const files = a.fields.files;
      const raw = files && typeof files === 'object' ? (files as Node).fileId : undefined;
      const fileIds = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(str).filter((v): v is string => Boolean(v));
      return { reportId: str(a.fields.reportId)?.trim() ?? reportId, fileIds, alreadyFinished: false };
    } catch (err) {
      // the oracle for a finish whose answer was lost: the service says it is finished
      if (err instanceof ReporterError && err.kind === 'already_finished') return { reportId, fileIds: [], alreadyFinished: true };
      throw err;
    }
  }

  async function retract(reportId: string): Promise<void> {
    checkReportId(reportId);
    try {
      await call('retract', '/retract', { method: 'POST', body: idForm(reportId) });
    } catch (err) {
      if (err instanceof ReporterError && err.kind === 'retracted') return;
      throw err;
    }
  }

  async function fileReport(incident: Incident, start: ReportProgress, onProgress: (p: ReportProgress) => Promise<void>): Promise<FinishedReport> {
    // everything is checked before the first request, so bad input never leaves a half-built report
    buildReportXml(incident, contact);
    const keys = new Set<string>();
    for (const f of incident.files) {
      if (!f.key) throw invalid('every file needs a key');
      if (keys.has(f.key)) throw invalid(`two files have the key ${JSON.stringify(clip(f.key, 80))}`);
      keys.add(f.key);
      buildFileDetailsXml('1', 'placeholder', f, { sha256: '0'.repeat(64), md5: '0'.repeat(32) });
    }
    let progress: ReportProgress = structuredClone(start);
    const save = async (next: ReportProgress) => {
      progress = next;
      await onProgress(structuredClone(next));
    };
    const recorded = () => Object.values(progress.files).map((f) => f.fileId);
    if (progress.retracted)
      throw new ReporterError('retracted', `report ${progress.reportId ?? '(none)'} was retracted; it cannot be filed`, { step: 'input', retryable: false });
    if (progress.finished) {
      if (!progress.reportId) throw invalid('the progress says finished but records no reportId');
      return { reportId: progress.reportId, fileIds: recorded(), alreadyFinished: true };
    }
    if (progress.reportId === undefined) {
      const opened = await open(incident);
      await save({ ...progress, reportId: opened.reportId });
    }
    const reportId = checkReportId(progress.reportId ?? '');
    for (const file of incident.files) {
      let up = progress.files[file.key];
      if (!up) {
        const bytes = await file.read();
        const sent = await uploadFile(reportId, { bytes, fileName: file.fileName ?? file.key, ...(file.contentType ? { contentType: file.contentType } : {}) });
        up = { ...sent, described: false };
        await save({ ...progress, files: { ...progress.files, [file.key]: up } });
      }
      if (!up.described) {
        await describeFile(reportId, up.fileId, file, up);
        await save({ ...progress, files: { ...progress.files, [file.key]: { ...up, described: true } } });
      }
    }
    const done = await finish(reportId);
    await save({ ...progress, finished: true });
    return { ...done, reportId, fileIds: done.fileIds.length > 0 ? done.fileIds : recorded() };
  }

  return { id: 'cybertipline', baseUrl, status, open, uploadFile, describeFile, finish, retract, fileReport };
}
