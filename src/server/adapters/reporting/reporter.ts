/**
 * The port through which confirmed child sexual abuse material is reported (issue 16): today one
 * implementation, NCMEC's CyberTipline reporting web service (`cybertipline.ts`).
 *
 * A report is built in resumable steps, because the service has no idempotency key and no way to
 * ask "did my last call land?":
 *
 *   open (POST /submit, the report XML)        -> reportId
 *   uploadFile (POST /upload), per file        -> fileId (+ the hashes of what was sent)
 *   describeFile (POST /fileinfo), per file    -> done
 *   finish (POST /finish)                      -> filed
 *
 * Exactly-once filing is the caller's job, and this port makes it possible: every step answers what
 * the caller must persist (`ReportProgress`) before it takes the next, and `fileReport` resumes from
 * the first step not recorded. It never opens a second report once a reportId is recorded, and a
 * `finish` that the service answers "already finished" (5102) counts as finished, so a crash between
 * the service's finish and the caller's write is harmless.
 *
 * What it cannot close: a `/submit` whose answer is lost (timeout, dropped connection) may have
 * opened a report that nobody learns the id of. Retrying opens another; the lost one is never
 * finished, so it is never filed, and the service deletes unfinished reports after a while (24 h
 * after opening or 1 h after the last change, UNCONFIRMED). Likewise an `/upload` whose answer is
 * lost adds the file twice to the same report on retry. Neither files a second report.
 */

/**
 * `incidentType` values. The schema (`/ispws/xsd`) is the authority; these come from two client
 * libraries that agree, except the enticement value, spelled "Sexual Acts" in the one that quotes the
 * documentation and "Sexual Act" in the other (UNCONFIRMED: check the XSD before using it).
 */
export const incidentTypes = [
  'Child Pornography (possession, manufacture, and distribution)',
  'Child Sex Trafficking',
  'Child Sex Tourism',
  'Child Sexual Molestation',
  'Misleading Domain Name',
  'Misleading Words or Digital Images on the Internet',
  'Online Enticement of Children for Sexual Acts',
  'Unsolicited Obscene Material Sent to a Child',
] as const;
export type IncidentType = (typeof incidentTypes)[number];

/** What CSAM found on the service is reported as. */
export const CSAM_INCIDENT: IncidentType = 'Child Pornography (possession, manufacture, and distribution)';

export const reportAnnotations = ['sextortion', 'csamSolicitation', 'minorToMinorInteraction'] as const;
export type ReportAnnotation = (typeof reportAnnotations)[number];

export const ipEventNames = ['Login', 'Registration', 'Purchase', 'Upload', 'Other', 'Unknown'] as const;
export type IpEventName = (typeof ipEventNames)[number];

export const fileAnnotations = [
  'animeDrawingVirtualHentai',
  'potentialMeme',
  'viral',
  'possibleSelfProduction',
  'physicalHarm',
  'violenceGore',
  'bestiality',
  'liveStreaming',
  'infant',
  /** the file was made by a generative model: every output of this service */
  'generativeAi',
] as const;
export type FileAnnotation = (typeof fileAnnotations)[number];

export const fileRelevances = ['Reported', 'Supplemental Reported'] as const;
export type FileRelevance = (typeof fileRelevances)[number];

export const industryClassifications = ['A1', 'A2', 'B1', 'B2'] as const;
export type IndustryClassification = (typeof industryClassifications)[number];

/** An IP address seen for the reported user (or a file), with when and at what kind of event. */
export interface IpCapture {
  ip: string;
  at?: Date;
  event?: IpEventName;
  possibleProxy?: boolean;
  port?: number;
}

/** The person at the operator who files the report (`<reporter><reportingPerson>`), from configuration. */
export interface ReporterContact {
  firstName: string;
  lastName: string;
  email: string;
  phone?: string;
  /** text NCMEC includes in every report: company information, how to serve legal process, retention */
  companyTemplate?: string;
  /** the terms of service relevant to the incident */
  termsOfService?: string;
  /** a page with further information */
  legalUrl?: string;
}

/** The account that uploaded or generated the material (`<personOrUserReported>`: shown as the suspect). */
export interface ReportedUser {
  /** our user id */
  espIdentifier?: string;
  /** the product used, e.g. "Save Sora video generation" */
  espService?: string;
  firstName?: string;
  lastName?: string;
  emails?: { address: string; verified?: boolean }[];
  screenName?: string;
  displayNames?: string[];
  profileUrls?: string[];
  /** sign-ups, sign-ins, uploads, generations: each address with its time */
  ipCaptures?: IpCapture[];
  additionalInfo?: string;
}

/** What the report describes: one incident, with the files that are its evidence. */
export interface Incident {
  incidentType: IncidentType;
  /** when it happened (sent as ISO 8601 in UTC) */
  occurredAt: Date;
  occurredAtDescription?: string;
  /** a reason for urgency, e.g. an immediate risk to a child: supplying one escalates the report */
  escalateToHighPriority?: string;
  annotations?: ReportAnnotation[];
  /** where on the service it happened (the creation's page, the upload route) */
  webPage?: { urls: string[]; additionalInfo?: string; thirdPartyHostedContent?: boolean };
  reportedUser?: ReportedUser;
  /** anything not covered above (which classifier or moderator flagged it, the case id) */
  additionalInfo?: string;
  files: IncidentFile[];
}

/** A file of the report: its bytes (read only when it is uploaded) and what `/fileinfo` says about it. */
export interface IncidentFile extends FileDescription {
  /** stable within the incident (our media id): the key of this file in `ReportProgress.files` */
  key: string;
  /** the name sent with the upload (defaults to `key`) */
  fileName?: string;
  contentType?: string;
  /** read when the file is uploaded, not again once its upload is recorded */
  read(): Promise<Buffer>;
}

/** What `/fileinfo` says about an uploaded file. */
export interface FileDescription {
  /** the name the user gave the file when it reached our servers */
  originalFileName?: string;
  /** where the file was, as a URL */
  locationOfFile?: string;
  /** a person at the operator looked at the whole file (true when a moderator confirmed it) */
  viewedByEsp?: boolean;
  /** someone looked at its EXIF (requires viewedByEsp) */
  exifViewedByEsp?: boolean;
  publiclyAvailable?: boolean;
  relevance?: FileRelevance;
  annotations?: FileAnnotation[];
  industryClassification?: IndustryClassification;
  /**
   * The file's hashes when the user uploaded it, before any change by us (`originalFileHash`). Left
   * out, the SHA-256 and MD5 of the bytes that were uploaded to NCMEC are sent.
   */
  hashes?: { type: string; value: string }[];
  /** the address and time it was uploaded (or the generation was asked for) */
  uploadIp?: IpCapture;
  /** `<details type="...">` name/value pairs (EXIF, other hashes such as PDQ) */
  details?: { type?: 'EXIF' | 'HASH'; pairs: { name: string; value: string }[] }[];
  additionalInfo?: string[];
}

/** One uploaded file, as recorded in the progress. */
export interface UploadedFile {
  fileId: string;
  /** what was sent: the adapter's own digests (hex) */
  sha256: string;
  md5: string;
  size: number;
  /** `/fileinfo` was accepted for it */
  described: boolean;
}

/**
 * How far a report has got, as the caller persists it (plain JSON: strings, numbers, booleans).
 * Start with `emptyProgress()`.
 */
export interface ReportProgress {
  reportId?: string;
  /** by `IncidentFile.key` */
  files: Record<string, UploadedFile>;
  finished: boolean;
  retracted: boolean;
}

export const emptyProgress = (): ReportProgress => ({ files: {}, finished: false, retracted: false });

export interface ReporterStatus {
  /** the service's description, e.g. "Remote User : acme, Remote Ip : 203.0.113.9" */
  description: string;
  remoteUser?: string;
  remoteIp?: string;
}

export interface OpenedReport {
  reportId: string;
  /** the service's Request-ID header, for support */
  requestId?: string;
}

export interface FinishedReport {
  reportId: string;
  /** the fileIds the service lists (empty when it answered "already finished" and listed none) */
  fileIds: string[];
  /** the service said the report was finished before this call (a resumed finish) */
  alreadyFinished: boolean;
}

export interface CsamReporter {
  readonly id: 'cybertipline';
  /** the base URL in use (test or production host): never the credentials */
  readonly baseUrl: string;
  /** checks connectivity and credentials (GET /status) */
  status(): Promise<ReporterStatus>;
  /** POST /submit: opens a report for the incident (its files are not sent here) */
  open(incident: Incident): Promise<OpenedReport>;
  /** POST /upload: adds one file to an open report */
  uploadFile(reportId: string, file: { bytes: Buffer; fileName: string; contentType?: string }): Promise<Omit<UploadedFile, 'described'>>;
  /** POST /fileinfo: describes an uploaded file; `uploaded` supplies the default hashes */
  describeFile(reportId: string, fileId: string, description: FileDescription, uploaded?: Pick<UploadedFile, 'sha256' | 'md5'>): Promise<void>;
  /** POST /finish: files the report; an answer "already finished" (5102) counts as finished */
  finish(reportId: string): Promise<FinishedReport>;
  /** POST /retract: withdraws a report that is not finished; "already retracted" (5101) counts as done */
  retract(reportId: string): Promise<void>;
  /**
   * The whole flow, skipping the steps `progress` records. `onProgress` is awaited after every step
   * with the new progress, and must persist it before resolving: if it throws, nothing further is
   * sent. Never opens a report when `progress.reportId` is set.
   */
  fileReport(incident: Incident, progress: ReportProgress, onProgress: (progress: ReportProgress) => Promise<void>): Promise<FinishedReport>;
}

export type ReporterErrorKind =
  /** credentials refused (HTTP 401/403, codes 2000-3999) */
  | 'auth'
  /** our input is not valid (checked before sending, or codes 4000-4999) */
  | 'invalid'
  /** the report or file does not exist (5001, 5002, 1210): e.g. an unfinished report that expired */
  | 'not_found'
  /** 5102: the report is finished and cannot be changed or retracted */
  | 'already_finished'
  /** 5101: the report was retracted */
  | 'retracted'
  /** the service failed (codes 1000-1999, HTTP 5xx) */
  | 'server'
  /** no answer: unreachable, connection dropped, or slower than the timeout */
  | 'network'
  /** an answer that is not the protocol (not XML, no responseCode, a hash that does not match) */
  | 'protocol';

export class ReporterError extends Error {
  readonly kind: ReporterErrorKind;
  /** a retry of the same step may succeed */
  readonly retryable: boolean;
  /** the step that failed: status, submit, upload, fileinfo, finish, retract (or input) */
  readonly step: string;
  /** the CyberTipline responseCode, when the service gave one */
  readonly responseCode?: number;
  /** the HTTP status, when the service answered */
  readonly status?: number;
  /** the service's Request-ID header */
  readonly requestId?: string;
  constructor(
    kind: ReporterErrorKind,
    message: string,
    opts: { step: string; retryable?: boolean; responseCode?: number; status?: number; requestId?: string; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ReporterError';
    this.kind = kind;
    this.step = opts.step;
    this.retryable = opts.retryable ?? (kind === 'server' || kind === 'network');
    if (opts.responseCode !== undefined) this.responseCode = opts.responseCode;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.requestId !== undefined) this.requestId = opts.requestId;
  }
}
