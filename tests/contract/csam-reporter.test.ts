import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CSAM_INCIDENT,
  createCsamReporter,
  emptyProgress,
  ReporterError,
  type CsamReporter,
  type Incident,
  type ReportProgress,
} from '../../src/server/adapters/reporting';
import { startFakeCyberTip, type FakeCyberTip } from '../fakes/ncmec';
import { closeAll } from '../helpers/close';

/**
 * The CsamReporter port against the fake CyberTipline (tests/fakes/ncmec.ts), which checks the
 * protocol (Basic auth, XML well-formed and in schema order, enumerations, the report lifecycle)
 * and keeps what it received: each test reads the report back from the fake.
 */

const contact = { firstName: 'Trust', lastName: 'Safety', email: 'safety@operator.test', companyTemplate: 'Operator Inc., legal process: legal@operator.test' };

function reporterFor(fake: FakeCyberTip, over: { password?: string; timeoutMs?: number } = {}): CsamReporter {
  return createCsamReporter({
    baseUrl: fake.url,
    username: fake.username,
    password: over.password ?? fake.password,
    timeoutMs: over.timeoutMs ?? 20_000,
    reporter: contact,
  });
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const MP4 = Buffer.concat([Buffer.from('000000186674797069736f6d', 'hex'), Buffer.alloc(4096, 7)]);

/** An incident with two files whose reads are counted. */
function incident(over: Partial<Incident> = {}) {
  const reads: Record<string, number> = { 'media-1': 0, 'media-2': 0 };
  const inc: Incident = {
    incidentType: CSAM_INCIDENT,
    occurredAt: new Date('2026-03-01T10:00:00.000Z'),
    webPage: { urls: ['https://sora.operator.test/c/abc'] },
    reportedUser: {
      espIdentifier: 'user_42',
      espService: 'Save Sora video generation',
      emails: [{ address: 'uploader@example.test', verified: true }],
      screenName: 'uploader42',
      ipCaptures: [
        { ip: '203.0.113.7', at: new Date('2026-02-01T08:00:00.000Z'), event: 'Registration' },
        { ip: '2001:db8::42', at: new Date('2026-03-01T09:59:00.000Z'), event: 'Upload', possibleProxy: false, port: 443 },
      ],
    },
    additionalInfo: 'Flagged by the hash matcher; confirmed by moderator m1 (case c-1).',
    files: [
      {
        key: 'media-1',
        fileName: 'reference.png',
        contentType: 'image/png',
        originalFileName: 'holiday.png',
        viewedByEsp: true,
        publiclyAvailable: false,
        uploadIp: { ip: '2001:db8::42', at: new Date('2026-03-01T09:59:00.000Z'), event: 'Upload' },
        read: async () => {
          reads['media-1']!++;
          return PNG;
        },
      },
      {
        key: 'media-2',
        fileName: 'output.mp4',
        contentType: 'video/mp4',
        viewedByEsp: true,
        publiclyAvailable: false,
        annotations: ['generativeAi'],
        read: async () => {
          reads['media-2']!++;
          return MP4;
        },
      },
    ],
    ...over,
  };
  return { inc, reads };
}

/** Runs fileReport like a caller that persists progress: the last saved progress survives a failure. */
async function run(reporter: CsamReporter, inc: Incident, start: ReportProgress = emptyProgress()) {
  const saves: ReportProgress[] = [];
  let saved = start;
  try {
    const result = await reporter.fileReport(inc, saved, async (p) => {
      saves.push(p);
      saved = p;
    });
    return { result, saved, saves, error: undefined };
  } catch (error) {
    return { result: undefined, saved, saves, error: error as ReporterError };
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const submits = (fake: FakeCyberTip, since = 0) => fake.requests.slice(since).filter((r) => r.path === '/ispws/submit').length;

let fake: FakeCyberTip;
let reporter: CsamReporter;

beforeAll(async () => {
  fake = await startFakeCyberTip();
  reporter = reporterFor(fake);
});

afterAll(async () => {
  await closeAll(fake);
});

describe('status', () => {
  it('checks connectivity and credentials', async () => {
    const s = await reporter.status();
    expect(s.remoteUser).toBe(fake.username);
    expect(s.remoteIp).toMatch(/127\.0\.0\.1/);
    expect(s.description).toContain('Remote User');
  });
});

describe('a full report', () => {
  it('files a report with two files: finished, files intact, the incident in the XML', async () => {
    const { inc, reads } = incident();
    const { result, saves, error } = await run(reporter, inc);
    expect(error).toBeUndefined();
    const r = fake.report(result!.reportId);
    expect(r.state).toBe('finished');
    expect(result!.alreadyFinished).toBe(false);
    expect(result!.fileIds).toEqual(r.files.map((f) => f.fileId));

    // the files arrived byte for byte
    expect(r.files).toHaveLength(2);
    expect(r.files[0]!.sha256).toBe(sha256(PNG));
    expect(r.files[1]!.sha256).toBe(sha256(MP4));
    expect(r.files[0]!.bytes.equals(PNG)).toBe(true);
    expect([r.files[0]!.fileName, r.files[0]!.contentType, r.files[1]!.fileName, r.files[1]!.contentType]).toEqual([
      'reference.png',
      'image/png',
      'output.mp4',
      'video/mp4',
    ]);
    expect(reads).toEqual({ 'media-1': 1, 'media-2': 1 });

    // the report XML as NCMEC parses it
    const x = r.report;
    expect(x.incidentSummary.incidentType).toBe(CSAM_INCIDENT);
    expect(x.incidentSummary.incidentDateTime).toBe('2026-03-01T10:00:00.000Z');
    expect(x.internetDetails[0].webPageIncident.url).toEqual(['https://sora.operator.test/c/abc']);
    expect(x.reporter.reportingPerson.email).toEqual(['safety@operator.test']);
    expect(x.reporter.companyTemplate).toBe(contact.companyTemplate);
    const user = x.personOrUserReported[0];
    expect(user.personOrUserReportedPerson.email).toEqual([{ '#text': 'uploader@example.test', '@_verified': 'true' }]);
    expect(user.espIdentifier).toBe('user_42');
    expect(user.espService).toBe('Save Sora video generation');
    expect(user.screenName).toBe('uploader42');
    expect(user.ipCaptureEvent).toEqual([
      { ipAddress: '203.0.113.7', eventName: 'Registration', dateTime: '2026-02-01T08:00:00.000Z' },
      { ipAddress: '2001:db8::42', eventName: 'Upload', dateTime: '2026-03-01T09:59:00.000Z', possibleProxy: 'false', port: '443' },
    ]);
    expect(x.additionalInfo).toBe(inc.additionalInfo);

    // the file details
    const d1 = r.files[0]!.details!;
    expect(d1.reportId).toBe(r.reportId);
    expect(d1.originalFileName).toBe('holiday.png');
    expect([d1.fileViewedByEsp, d1.publiclyAvailable]).toEqual(['true', 'false']);
    expect(d1.ipCaptureEvent).toEqual([{ ipAddress: '2001:db8::42', eventName: 'Upload', dateTime: '2026-03-01T09:59:00.000Z' }]);
    expect(d1.originalFileHash).toEqual([
      { '#text': sha256(PNG), '@_hashType': 'SHA256' },
      { '#text': md5(PNG), '@_hashType': 'MD5' },
    ]);
    const d2 = r.files[1]!.details!;
    expect(d2.fileAnnotations).toEqual({ generativeAi: '' });
    expect(r.files.map((f) => f.detailsCount)).toEqual([1, 1]);

    // the calls, in order, and every step saved before the next
    expect(
      fake.requests
        .filter((q) => q.authorization && q.responseCode === 0 && q.path !== '/ispws/status')
        .slice(-6)
        .map((q) => q.path),
    ).toEqual(['/ispws/submit', '/ispws/upload', '/ispws/fileinfo', '/ispws/upload', '/ispws/fileinfo', '/ispws/finish']);
    expect(saves.map((s) => [s.reportId, Object.keys(s.files).length, Object.values(s.files).filter((f) => f.described).length, s.finished])).toEqual([
      [r.reportId, 0, 0, false],
      [r.reportId, 1, 0, false],
      [r.reportId, 1, 1, false],
      [r.reportId, 2, 1, false],
      [r.reportId, 2, 2, false],
      [r.reportId, 2, 2, true],
    ]);
    expect(saves.at(-1)!.files['media-1']).toEqual({ fileId: r.files[0]!.fileId, sha256: sha256(PNG), md5: md5(PNG), size: PNG.length, described: true });
  });

  it('sends hashes the caller gives instead of its own, and nothing for a finished progress', async () => {
    const { inc } = incident();
    inc.files = [{ ...inc.files[0]!, hashes: [{ type: 'SHA1', value: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' }] }];
    const { result, saved } = await run(reporter, inc);
    expect(fake.report(result!.reportId).files[0]!.details!.originalFileHash).toEqual([
      { '#text': 'da39a3ee5e6b4b0d3255bfef95601890afd80709', '@_hashType': 'SHA1' },
    ]);
    const seen = fake.requests.length;
    const again = await run(reporter, inc, saved);
    expect(again.result).toEqual({ reportId: result!.reportId, fileIds: result!.fileIds, alreadyFinished: true });
    expect(fake.requests.length).toBe(seen);
  });
});

describe('XML escaping and hostile input', () => {
  const hostile = `<script>alert("x")</script> & 'quotes' ]]> <!-- -->`;

  it('escapes markup characters so NCMEC reads the exact text', async () => {
    const { inc } = incident({ additionalInfo: hostile, occurredAtDescription: 'a "quoted" & <tagged> time' });
    inc.reportedUser = { ...inc.reportedUser, screenName: `</screenName><injected>1</injected>`, displayNames: [hostile] };
    inc.files = [{ ...inc.files[0]!, originalFileName: `"><x a='1'>&amp;.png`, additionalInfo: [hostile] }];
    const { result, error } = await run(reporter, inc);
    expect(error).toBeUndefined();
    const r = fake.report(result!.reportId);
    expect(r.report.additionalInfo).toBe(hostile);
    expect(r.report.incidentSummary.incidentDateTimeDescription).toBe('a "quoted" & <tagged> time');
    expect(r.report.personOrUserReported[0].screenName).toBe('</screenName><injected>1</injected>');
    expect(r.report.personOrUserReported[0].displayName).toEqual([hostile]);
    expect(r.report.personOrUserReported[0].injected).toBeUndefined();
    expect(r.xml).toContain('&lt;script&gt;');
    expect(r.xml).not.toContain('<script>');
    expect(r.files[0]!.details!.originalFileName).toBe(`"><x a='1'>&amp;.png`);
    expect(r.files[0]!.details!.additionalInfo).toEqual([hostile]);
  });

  it('strips NUL and other control characters from free text', async () => {
    const { inc } = incident({ additionalInfo: 'before\u0000after\u0007\u001b[31m\u007f\u0085 tab\tand\nnewline\ud800' });
    inc.files = [{ ...inc.files[0]!, originalFileName: 'evil\u0000name\u0008.png' }];
    const { result, error } = await run(reporter, inc);
    expect(error).toBeUndefined();
    const r = fake.report(result!.reportId);
    expect(r.report.additionalInfo).toBe('beforeafter[31m tab\tand\nnewline');
    expect(r.files[0]!.details!.originalFileName).toBe('evilname.png');
  });

  it.each([
    ['a NUL in an email', { reportedUser: { emails: [{ address: 'a\u0000@example.test' }] } }, /reportedUser\.emails\[0\] contains control characters/],
    ['an IP that is not one', { reportedUser: { ipCaptures: [{ ip: '999.1.1.1' }] } }, /reportedUser\.ipCaptures\[0\]\.ip must be an IPv4 or IPv6 address/],
    ['a URL that is not http(s)', { webPage: { urls: ['javascript:alert(1)'] } }, /webPage\.urls\[0\] must be an http\(s\) URL/],
    ['an invalid date', { occurredAt: new Date('nope') }, /occurredAt must be a valid date/],
    ['an incident type outside the enum', { incidentType: 'Spam' as never }, /incidentType must be one of/],
  ])('refuses %s before sending anything', async (_what, over, message) => {
    const { inc } = incident(over);
    const seen = fake.requests.length;
    const { error, saves } = await run(reporter, inc);
    expect(error).toBeInstanceOf(ReporterError);
    expect(error!.kind).toBe('invalid');
    expect(error!.step).toBe('input');
    expect(error!.retryable).toBe(false);
    expect(error!.message).toMatch(message);
    expect(fake.requests.length).toBe(seen);
    expect(saves).toEqual([]);
  });

  it('refuses a file description the schema forbids before opening the report', async () => {
    const { inc } = incident();
    inc.files = [{ ...inc.files[0]!, viewedByEsp: false, exifViewedByEsp: true }];
    const seen = fake.requests.length;
    const { error } = await run(reporter, inc);
    expect(error?.kind).toBe('invalid');
    expect(error?.message).toMatch(/exifViewedByEsp requires viewedByEsp/);
    expect(fake.requests.length).toBe(seen);
  });
});

describe('resuming after a failure', () => {
  it('a failed upload after submit: the retry resumes the same report (one report at the fake)', async () => {
    const { inc, reads } = incident();
    const seen = fake.requests.length;
    const before = fake.reports.size;
    fake.failNext('upload', { kind: 'http', status: 503 });
    const first = await run(reporter, inc);
    expect(first.error).toBeInstanceOf(ReporterError);
    expect(first.error!.kind).toBe('server');
    expect(first.error!.retryable).toBe(true);
    expect(first.error!.step).toBe('upload');
    expect(first.saved.reportId).toMatch(/^\d+$/);
    expect(first.saved.files).toEqual({});

    const second = await run(reporter, inc, first.saved);
    expect(second.error).toBeUndefined();
    expect(second.result!.reportId).toBe(first.saved.reportId);
    expect(fake.reports.size).toBe(before + 1);
    expect(submits(fake, seen)).toBe(1);
    const r = fake.report(first.saved.reportId!);
    expect(r.state).toBe('finished');
    expect(r.files.map((f) => f.sha256)).toEqual([sha256(PNG), sha256(MP4)]);
    expect(reads).toEqual({ 'media-1': 2, 'media-2': 1 });
  });

  it('a failure at the second file: the first is neither read nor uploaded again', async () => {
    const { inc, reads } = incident();
    const seen = fake.requests.length;
    let injected = false;
    const second = inc.files[1]!;
    // the second upload (and only it) fails with code 1111, once
    inc.files[1] = {
      ...second,
      read: async () => {
        if (!injected) fake.failNext('upload', { kind: 'code', code: 1111 });
        injected = true;
        return second.read();
      },
    };
    const first = await run(reporter, inc);
    expect([first.error?.kind, first.error?.responseCode, first.error?.retryable]).toEqual(['server', 1111, true]);
    expect(Object.keys(first.saved.files)).toEqual(['media-1']);
    const again = await run(reporter, inc, first.saved);
    expect(again.error).toBeUndefined();
    expect(submits(fake, seen)).toBe(1);
    const r = fake.report(again.result!.reportId);
    expect(r.state).toBe('finished');
    expect(r.files.map((f) => f.sha256)).toEqual([sha256(PNG), sha256(MP4)]);
    expect(reads).toEqual({ 'media-1': 1, 'media-2': 2 });
  });

  it('a /fileinfo refused with a server code (1000, retryable): the retry describes the same file, not a new upload', async () => {
    const { inc, reads } = incident();
    fake.failNext('fileinfo', { kind: 'code', code: 1000 });
    const first = await run(reporter, inc);
    expect(first.error?.responseCode).toBe(1000);
    expect(first.error?.retryable).toBe(true);
    expect(first.error?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.values(first.saved.files).map((f) => f.described)).toEqual([false]);
    const second = await run(reporter, inc, first.saved);
    expect(second.error).toBeUndefined();
    const r = fake.report(second.result!.reportId);
    expect(r.files).toHaveLength(2);
    expect(r.files.map((f) => f.detailsCount)).toEqual([1, 1]);
    expect(reads).toEqual({ 'media-1': 1, 'media-2': 1 });
  });

  it('a finish whose answer is lost: the retry learns it is finished (5102) and files nothing twice', async () => {
    const { inc } = incident();
    const seen = fake.requests.length;
    fake.failNext('finish', { kind: 'drop-after' });
    const first = await run(reporter, inc);
    expect(first.error?.kind).toBe('network');
    expect(first.error?.retryable).toBe(true);
    expect(first.saved.finished).toBe(false);
    expect(fake.report(first.saved.reportId!).state).toBe('finished');
    const second = await run(reporter, inc, first.saved);
    expect(second.error).toBeUndefined();
    expect(second.result!.alreadyFinished).toBe(true);
    expect(second.result!.fileIds).toEqual(fake.report(first.saved.reportId!).files.map((f) => f.fileId));
    expect(second.saved.finished).toBe(true);
    expect(submits(fake, seen)).toBe(1);
  });

  it('a save that fails stops the flow: nothing is sent after a step the caller could not record', async () => {
    const { inc } = incident();
    const seen = fake.requests.length;
    let saved: ReportProgress = emptyProgress();
    await expect(
      reporter.fileReport(inc, saved, async (p) => {
        saved = p;
        if (p.reportId) throw new Error('database down');
      }),
    ).rejects.toThrow('database down');
    expect(fake.requests.slice(seen).map((q) => q.path)).toEqual(['/ispws/submit']);
    const resumed = await run(reporter, inc, saved);
    expect(resumed.result!.reportId).toBe(saved.reportId);
    expect(submits(fake, seen)).toBe(1);
  });

  it('never opens a second report for a recorded reportId, even when the first expired', async () => {
    let now = Date.now();
    const expiring = await startFakeCyberTip({ now: () => now });
    try {
      const rep = reporterFor(expiring);
      const { inc } = incident();
      expiring.failNext('upload', { kind: 'http', status: 502 });
      const first = await run(rep, inc);
      expect(first.error?.retryable).toBe(true);
      now += 2 * 3_600_000;
      const second = await run(rep, inc, first.saved);
      expect(second.error?.kind).toBe('not_found');
      expect(second.error?.responseCode).toBe(5001);
      expect(second.error?.retryable).toBe(false);
      expect(expiring.reports.size).toBe(1);
      expect(submits(expiring)).toBe(1);
    } finally {
      await expiring.close();
    }
  });
});

describe('retract', () => {
  it('withdraws an open report; retracting again is a no-op; it can no longer be finished or filed', async () => {
    const { inc } = incident();
    const { reportId } = await reporter.open(inc);
    expect(fake.report(reportId).state).toBe('open');
    await reporter.retract(reportId);
    expect(fake.report(reportId).state).toBe('retracted');
    await reporter.retract(reportId);
    const err = await reporter.finish(reportId).catch((e: unknown) => e as ReporterError);
    expect(err).toBeInstanceOf(ReporterError);
    expect([(err as ReporterError).kind, (err as ReporterError).responseCode, (err as ReporterError).retryable]).toEqual(['retracted', 5101, false]);
    const filed = await run(reporter, inc, { ...emptyProgress(), reportId, retracted: true });
    expect(filed.error?.kind).toBe('retracted');
  });

  it('refuses to retract a finished report (5102)', async () => {
    const { result } = await run(reporter, incident().inc);
    const err = await reporter.retract(result!.reportId).catch((e: unknown) => e as ReporterError);
    expect([(err as ReporterError).kind, (err as ReporterError).responseCode]).toEqual(['already_finished', 5102]);
    expect(fake.report(result!.reportId).state).toBe('finished');
  });

  it('an unknown report is not_found (5001)', async () => {
    const err = await reporter.retract('1').catch((e: unknown) => e as ReporterError);
    expect([(err as ReporterError).kind, (err as ReporterError).responseCode, (err as ReporterError).status]).toEqual(['not_found', 5001, 404]);
  });
});

describe('errors', () => {
  it('wrong credentials: a non-retryable auth error that does not reveal the password', async () => {
    const wrong = reporterFor(fake, { password: 'hunter2-wrong' });
    const seen = fake.reports.size;
    for (const attempt of [() => wrong.status(), () => wrong.fileReport(incident().inc, emptyProgress(), async () => {})]) {
      const err = await attempt().catch((e: unknown) => e as ReporterError);
      expect(err).toBeInstanceOf(ReporterError);
      const e = err as ReporterError;
      expect([e.kind, e.retryable, e.status, e.responseCode]).toEqual(['auth', false, 401, 2000]);
      expect(inspect(e) + JSON.stringify(e)).not.toContain('hunter2');
    }
    expect(fake.reports.size).toBe(seen);
    expect(inspect(wrong, { depth: 5 })).not.toContain('hunter2');
  });

  it('wrong credentials answered with HTTP 200 and code 2000: still auth, not retryable', async () => {
    const other = await startFakeCyberTip({ authFailure: 'code-2000', errorsAsHttp200: true });
    try {
      const err = await reporterFor(other, { password: 'nope' })
        .status()
        .catch((e: unknown) => e as ReporterError);
      expect([(err as ReporterError).kind, (err as ReporterError).retryable, (err as ReporterError).status]).toEqual(['auth', false, 200]);
      other.failNext('submit', { kind: 'code', code: 1000 });
      const server = await reporterFor(other)
        .open(incident().inc)
        .catch((e: unknown) => e as ReporterError);
      expect([(server as ReporterError).kind, (server as ReporterError).retryable, (server as ReporterError).status]).toEqual(['server', true, 200]);
    } finally {
      await other.close();
    }
  });

  it.each([
    ['HTTP 500 without a body the protocol knows', 'server', true, { kind: 'http', status: 500 } as const],
    ['HTTP 429', 'server', true, { kind: 'http', status: 429 } as const],
    ['HTTP 400 without a body the protocol knows', 'invalid', false, { kind: 'http', status: 400 } as const],
    ['HTTP 404 without a body the protocol knows (a wrong base URL)', 'protocol', false, { kind: 'http', status: 404 } as const],
    ['code 1000 (server error)', 'server', true, { kind: 'code', code: 1000 } as const],
    ['code 4100 (validation failed)', 'invalid', false, { kind: 'code', code: 4100 } as const],
    ['code 3100 (not authorized to submit)', 'auth', false, { kind: 'code', code: 3100 } as const],
  ])('%s -> %s, retryable %s', async (_what, kind, retryable, failure) => {
    fake.failNext('submit', failure);
    const err = await reporter.open(incident().inc).catch((e: unknown) => e as ReporterError);
    expect(err).toBeInstanceOf(ReporterError);
    expect([(err as ReporterError).kind, (err as ReporterError).retryable, (err as ReporterError).step]).toEqual([kind, retryable, 'submit']);
  });

  it('no answer within the timeout: a retryable network error', async () => {
    const impatient = reporterFor(fake, { timeoutMs: 300 });
    fake.failNext('status', { kind: 'timeout' });
    const err = await impatient.status().catch((e: unknown) => e as ReporterError);
    expect([(err as ReporterError).kind, (err as ReporterError).retryable]).toEqual(['network', true]);
    expect((err as ReporterError).message).toMatch(/did not answer within 300 ms/);
  });
});

describe('talking only to the configured host', () => {
  /** A server that answers every request with `reply` and logs what it got. */
  async function rogue(reply: (res: http.ServerResponse) => void) {
    const seen: http.IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => reply(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ispws`,
      seen,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }

  it('does not follow a redirect (the credentials stay with the configured host)', async () => {
    const seen = fake.requests.length;
    const r = await rogue((res) => res.writeHead(302, { location: `${fake.url}/status` }).end());
    try {
      const rep = createCsamReporter({ baseUrl: r.url, username: 'u', password: 'p', reporter: contact });
      const err = await rep.status().catch((e: unknown) => e as ReporterError);
      expect([(err as ReporterError).kind, (err as ReporterError).status]).toEqual(['protocol', 302]);
      expect(fake.requests.length).toBe(seen);
    } finally {
      await r.close();
    }
  });

  it('refuses an answer with a DOCTYPE (entity expansion) or one larger than 1 MiB', async () => {
    const doctype = await rogue((res) =>
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><reportResponse><responseCode>0</responseCode><responseDescription>&a;</responseDescription></reportResponse>',
        ),
    );
    const huge = await rogue((res) =>
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(`<reportResponse><responseCode>0</responseCode><responseDescription>${'x'.repeat(1_100_000)}</responseDescription></reportResponse>`),
    );
    try {
      for (const r of [doctype, huge]) {
        const err = await createCsamReporter({ baseUrl: r.url, username: 'u', password: 'p', reporter: contact })
          .status()
          .catch((e: unknown) => e as ReporterError);
        expect((err as ReporterError).kind).toBe('protocol');
      }
    } finally {
      await closeAll(doctype, huge);
    }
  });

  it.each([
    ['plain http to another host', 'http://report.cybertip.example/ispws', /must be https/],
    ['credentials in the URL', 'https://u:p@exttest.cybertip.org/ispws', /must not carry credentials/],
    ['not a URL', 'exttest.cybertip.org', /not a URL/],
  ])('refuses a base URL with %s', (_what, baseUrl, message) => {
    expect(() => createCsamReporter({ baseUrl, username: 'u', password: 'p', reporter: contact })).toThrow(message);
  });

  it('accepts the documented test and production hosts', () => {
    for (const baseUrl of ['https://exttest.cybertip.org/ispws', 'https://report.cybertip.org/ispws/'])
      expect(createCsamReporter({ baseUrl, username: 'u', password: 'p', reporter: contact }).baseUrl).toBe(baseUrl.replace(/\/$/, ''));
  });

  it('refuses an unusable reporter contact at creation', () => {
    expect(() => createCsamReporter({ baseUrl: fake.url, username: 'u', password: 'p', reporter: { ...contact, email: 'nobody' } })).toThrow(/reporter\.email/);
  });
});
