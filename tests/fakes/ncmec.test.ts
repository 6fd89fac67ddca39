import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { until } from '../helpers/wait';
import { startFakeCyberTip, type FakeCyberTip } from './ncmec';

/** Protocol details of the fake CyberTipline: auth, what it refuses and why, the report lifecycle, expiry and injected failures. */

const parser = new XMLParser({ parseTagValue: false });

interface Answer {
  status: number;
  requestId: string | null;
  wwwAuthenticate: string | null;
  body: string;
  /** the root element's content */
  root: string;
  doc: Record<string, any>;
  code: number | undefined;
}

async function call(
  fake: FakeCyberTip,
  path: string,
  init: { method?: string; body?: string | FormData | URLSearchParams; contentType?: string; auth?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? `${fake.username}:${fake.password}` : init.auth;
  if (auth !== null) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  if (init.contentType) headers['content-type'] = init.contentType;
  const res = await fetch(`${fake.url}${path}`, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), headers, body: init.body ?? null });
  const body = await res.text();
  const parsed = (body.startsWith('<') ? parser.parse(body) : {}) as Record<string, any>;
  const root = Object.keys(parsed).find((k) => k !== '?xml') ?? '';
  const doc = (parsed[root] ?? {}) as Record<string, any>;
  return {
    status: res.status,
    requestId: res.headers.get('request-id'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body,
    root,
    doc,
    code: doc.responseCode === undefined ? undefined : Number(doc.responseCode),
  };
}

const CSAM = 'Child Pornography (possession, manufacture, and distribution)';
const summary = (inner = `<incidentType>${CSAM}</incidentType><incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime>`) =>
  `<incidentSummary>${inner}</incidentSummary>`;
const report = (body = summary()) => `<?xml version="1.0" encoding="UTF-8"?><report>${body}</report>`;
const xml = 'text/xml; charset=utf-8';

async function open(fake: FakeCyberTip, body = report()): Promise<string> {
  const a = await call(fake, '/submit', { body, contentType: xml });
  expect(a.code, a.body).toBe(0);
  return String(a.doc.reportId);
}

async function upload(fake: FakeCyberTip, reportId: string, bytes = Buffer.from('evidence bytes')): Promise<Answer> {
  const form = new FormData();
  form.append('id', reportId);
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'e.png');
  return call(fake, '/upload', { body: form });
}

const idForm = (id: string) => {
  const form = new FormData();
  form.append('id', id);
  return form;
};

const fileDetails = (reportId: string, fileId: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?><fileDetails><reportId>${reportId}</reportId><fileId>${fileId}</fileId>${extra}</fileDetails>`;

let fake: FakeCyberTip;
let clock = Date.now();
let http200: FakeCyberTip;

beforeAll(async () => {
  fake = await startFakeCyberTip({ now: () => clock });
  http200 = await startFakeCyberTip({ errorsAsHttp200: true, authFailure: 'code-2000' });
});

afterAll(async () => {
  await closeAll(fake, http200);
});

describe('auth and status', () => {
  it('answers /status with the remote user and a Request-ID', async () => {
    const a = await call(fake, '/status');
    expect(a.status).toBe(200);
    expect(a.root).toBe('reportResponse');
    expect(a.code).toBe(0);
    expect(a.doc.responseDescription).toMatch(/^Remote User : esp-test, Remote Ip : \S+$/);
    expect(a.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['no Authorization', null],
    ['a wrong password', 'esp-test:nope'],
    ['a wrong user', 'someone:esp-test-password'],
  ])('refuses %s with HTTP 401 and code 2000', async (_what, auth) => {
    const a = await call(fake, '/status', { auth });
    expect(a.status).toBe(401);
    expect(a.wwwAuthenticate).toMatch(/^Basic /);
    expect(a.code).toBe(2000);
    const before = fake.reports.size;
    const s = await call(fake, '/submit', { body: report(), contentType: xml, auth });
    expect(s.status).toBe(401);
    expect(fake.reports.size).toBe(before);
  });

  it("can refuse with HTTP 200 and code 2000 instead (authFailure: 'code-2000')", async () => {
    const a = await call(http200, '/status', { auth: 'x:y' });
    expect([a.status, a.code]).toEqual([200, 2000]);
  });

  it('serves a schema at /xsd and 404/405 elsewhere', async () => {
    const x = await call(fake, '/xsd');
    expect(x.status).toBe(200);
    expect(x.body).toContain('<xs:schema');
    expect((await call(fake, '/nope')).status).toBe(404);
    expect((await call(fake, '/submit')).status).toBe(405);
  });
});

describe('/submit', () => {
  it('opens a report with a numeric reportId and records the parsed XML', async () => {
    const body = report(
      summary(
        `<incidentType>${CSAM}</incidentType><reportAnnotations><sextortion/></reportAnnotations><incidentDateTime>2026-03-01T10:00:00+01:00</incidentDateTime>`,
      ) +
        '<internetDetails><webPageIncident><url>https://app.test/v/1</url></webPageIncident></internetDetails>' +
        '<reporter><reportingPerson><firstName>T</firstName><lastName>S</lastName><email>ts@op.test</email></reportingPerson></reporter>' +
        '<personOrUserReported><espIdentifier>u1</espIdentifier><ipCaptureEvent><ipAddress>2001:db8::1</ipAddress><eventName>Upload</eventName><dateTime>2026-03-01T09:59:00Z</dateTime></ipCaptureEvent></personOrUserReported>' +
        '<additionalInfo>A &amp; B</additionalInfo>',
    );
    const id = await open(fake, body);
    expect(id).toMatch(/^\d+$/);
    const r = fake.report(id);
    expect(r.state).toBe('open');
    expect(r.xml).toBe(body);
    expect(r.report.incidentSummary.incidentType).toBe(CSAM);
    expect(r.report.internetDetails[0].webPageIncident.url).toEqual(['https://app.test/v/1']);
    expect(r.report.personOrUserReported[0].ipCaptureEvent[0].ipAddress).toBe('2001:db8::1');
    expect(r.report.additionalInfo).toBe('A & B');
  });

  it.each([
    ['not well-formed', report().replace('</report>', ''), 4110],
    ['a DOCTYPE', `<!DOCTYPE report [<!ENTITY x "y">]>${report()}`, 4110],
    ['a raw NUL', report().replace('</report>', '<additionalInfo>a\u0000b</additionalInfo></report>'), 4110],
    ['a NUL reference', report().replace('</report>', '<additionalInfo>a&#0;b</additionalInfo></report>'), 4110],
    ['another root', '<fileDetails><reportId>1</reportId><fileId>x</fileId></fileDetails>', 4100],
    ['no incidentType', report(summary('<incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime>')), 4100],
    ['no incidentDateTime', report(summary(`<incidentType>${CSAM}</incidentType>`)), 4100],
    [
      'an incidentType outside the enum',
      report(summary('<incidentType>Bad stuff</incidentType><incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime>')),
      4100,
    ],
    ['a date without a zone', report(summary(`<incidentType>${CSAM}</incidentType><incidentDateTime>2026-03-01T10:00:00</incidentDateTime>`)), 4100],
    ['elements out of order', report(summary(`<incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime><incidentType>${CSAM}</incidentType>`)), 4100],
    ['an unknown element', report(summary() + '<favouriteColour>red</favouriteColour>'), 4100],
    [
      'an unknown annotation',
      report(
        summary(`<incidentType>${CSAM}</incidentType><reportAnnotations><spam/></reportAnnotations><incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime>`),
      ),
      4100,
    ],
    ['a bad IP', report(summary() + '<personOrUserReported><ipCaptureEvent><ipAddress>300.1.1.1</ipAddress></ipCaptureEvent></personOrUserReported>'), 4100],
    [
      'a bad event name',
      report(
        summary() + '<personOrUserReported><ipCaptureEvent><ipAddress>1.2.3.4</ipAddress><eventName>Dance</eventName></ipCaptureEvent></personOrUserReported>',
      ),
      4100,
    ],
    ['a bad email', report(summary() + '<reporter><reportingPerson><email>not an email</email></reportingPerson></reporter>'), 4100],
  ])('refuses %s', async (_what, body, code) => {
    const before = fake.reports.size;
    const a = await call(fake, '/submit', { body, contentType: xml });
    expect(a.code, a.body).toBe(code);
    expect(a.status).toBe(400);
    expect(a.doc.responseDescription).toBeTruthy();
    expect(fake.reports.size).toBe(before);
  });

  it('refuses a body that is not sent as XML', async () => {
    const a = await call(fake, '/submit', { body: report(), contentType: 'application/json' });
    expect(a.code).toBe(4110);
  });
});

describe('/upload, /fileinfo, /finish, /retract', () => {
  it('runs a report to the end and refuses what comes after', async () => {
    const id = await open(fake);
    const bytes = Buffer.from('first file');
    const up = await upload(fake, id, bytes);
    expect(up.code).toBe(0);
    expect(String(up.doc.reportId)).toBe(id);
    expect(up.doc.fileId).toMatch(/^[0-9a-f]{32}$/);
    expect(up.doc.hash).toBe(createHash('md5').update(bytes).digest('hex'));
    const file = fake.report(id).files[0]!;
    expect(file.bytes.equals(bytes)).toBe(true);
    expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect([file.fileName, file.contentType]).toEqual(['e.png', 'image/png']);

    const details = fileDetails(
      id,
      up.doc.fileId,
      '<originalFileName>a.png</originalFileName><fileViewedByEsp>true</fileViewedByEsp><fileAnnotations><generativeAi/></fileAnnotations><originalFileHash hashType="MD5">abc</originalFileHash>',
    );
    const info = await call(fake, '/fileinfo', { body: details, contentType: xml });
    expect(info.code, info.body).toBe(0);
    expect(file.details?.originalFileName).toBe('a.png');
    expect(file.details?.originalFileHash[0]['@_hashType']).toBe('MD5');
    expect((await call(fake, '/fileinfo', { body: details, contentType: xml })).code).toBe(0);
    expect(file.detailsCount).toBe(2);

    const done = await call(fake, '/finish', { body: idForm(id) });
    expect(done.root).toBe('reportDoneResponse');
    expect(done.code).toBe(0);
    expect(String(done.doc.reportId)).toBe(id);
    expect(done.doc.files.fileId).toBe(up.doc.fileId);
    expect(fake.report(id).state).toBe('finished');

    expect((await call(fake, '/finish', { body: idForm(id) })).code).toBe(5102);
    expect((await call(fake, '/retract', { body: idForm(id) })).code).toBe(5102);
    expect((await upload(fake, id)).code).toBe(5102);
    expect((await call(fake, '/fileinfo', { body: details, contentType: xml })).code).toBe(5102);
    expect((await call(fake, '/finish', { body: idForm(id) })).status).toBe(409);
  });

  it('retracts an open report (form field as urlencoded too), then refuses it with 5101', async () => {
    const id = await open(fake);
    const r = await call(fake, '/retract', { body: new URLSearchParams({ id }), contentType: 'application/x-www-form-urlencoded' });
    expect(r.code).toBe(0);
    expect(fake.report(id).state).toBe('retracted');
    expect((await call(fake, '/retract', { body: idForm(id) })).code).toBe(5101);
    expect((await call(fake, '/finish', { body: idForm(id) })).code).toBe(5101);
    expect((await upload(fake, id)).code).toBe(5101);
  });

  it('refuses unknown reports and files, and uploads without a file', async () => {
    expect((await upload(fake, '999')).code).toBe(5001);
    expect((await call(fake, '/finish', { body: idForm('999') })).code).toBe(5001);
    expect((await call(fake, '/retract', { body: idForm('999') })).status).toBe(404);
    const id = await open(fake);
    const noFile = await call(fake, '/upload', { body: idForm(id) });
    expect(noFile.code).toBe(4200);
    const empty = await upload(fake, id, Buffer.alloc(0));
    expect(empty.code).toBe(4200);
    expect((await call(fake, '/fileinfo', { body: fileDetails(id, 'f'.repeat(32)), contentType: xml })).code).toBe(5002);
    expect((await call(fake, '/fileinfo', { body: fileDetails('999', 'f'.repeat(32)), contentType: xml })).code).toBe(5001);
    expect((await call(fake, '/finish', { body: 'id=' })).code).toBe(4000);
  });

  it.each([
    ['exifViewedByEsp without fileViewedByEsp', '<exifViewedByEsp>true</exifViewedByEsp>'],
    [
      'a Supplemental Reported file with a classification',
      '<fileRelevance>Supplemental Reported</fileRelevance><industryClassification>A1</industryClassification>',
    ],
    ['a Supplemental Reported potential meme', '<fileRelevance>Supplemental Reported</fileRelevance><fileAnnotations><potentialMeme/></fileAnnotations>'],
    ['a hash without hashType', '<originalFileHash>abc</originalFileHash>'],
    ['a hash longer than 64', `<originalFileHash hashType="SHA256">${'a'.repeat(65)}</originalFileHash>`],
    ['a boolean that is not one', '<publiclyAvailable>yes</publiclyAvailable>'],
    ['an unknown relevance', '<fileRelevance>Important</fileRelevance>'],
    ['an unknown file annotation', '<fileAnnotations><cute/></fileAnnotations>'],
    ['elements out of order', '<publiclyAvailable>true</publiclyAvailable><fileViewedByEsp>true</fileViewedByEsp>'],
    ['a relative locationOfFile', '<locationOfFile>/v/1</locationOfFile>'],
  ])('/fileinfo refuses %s (4100)', async (_what, extra) => {
    const id = await open(fake);
    const up = await upload(fake, id);
    const a = await call(fake, '/fileinfo', { body: fileDetails(id, up.doc.fileId, extra), contentType: xml });
    expect(a.code, a.body).toBe(4100);
    expect(fake.report(id).files[0]!.detailsCount).toBe(0);
  });
});

describe('expiry', () => {
  it('forgets a report idle for more than an hour (5001), not one that changed within the hour', async () => {
    const start = clock;
    try {
      const idle = await open(fake);
      const busy = await open(fake);
      clock += 50 * 60_000;
      expect((await upload(fake, busy)).code).toBe(0);
      clock += 20 * 60_000;
      expect((await call(fake, '/finish', { body: idForm(idle) })).code).toBe(5001);
      expect(fake.report(idle).state).toBe('expired');
      expect((await call(fake, '/finish', { body: idForm(busy) })).code).toBe(0);
    } finally {
      clock = start;
    }
  });

  it('forgets an open report 24 hours after it was opened, however busy', async () => {
    const start = clock;
    try {
      const id = await open(fake);
      for (let i = 0; i < 25; i++) {
        clock += 59 * 60_000;
        const a = await upload(fake, id);
        if (a.code !== 0) {
          expect(a.code).toBe(5001);
          expect(clock - start).toBeGreaterThan(24 * 3_600_000);
          return;
        }
      }
      throw new Error('the report never expired');
    } finally {
      clock = start;
    }
  });
});

describe('failure injection', () => {
  it('answers an injected HTTP error once, without doing the step', async () => {
    fake.failNext('submit', { kind: 'http', status: 503 });
    const before = fake.reports.size;
    const a = await call(fake, '/submit', { body: report(), contentType: xml });
    expect(a.status).toBe(503);
    expect(a.code).toBeUndefined();
    expect(fake.reports.size).toBe(before);
    await open(fake);
    expect(fake.reports.size).toBe(before + 1);
  });

  it('answers an injected responseCode once', async () => {
    const id = await open(fake);
    fake.failNext('upload', { kind: 'code', code: 1110 });
    const a = await upload(fake, id);
    expect([a.status, a.code]).toEqual([500, 1110]);
    expect(fake.report(id).files).toHaveLength(0);
    expect((await upload(fake, id)).code).toBe(0);
  });

  it('drop-after: does the step and closes the connection without an answer', async () => {
    const id = await open(fake);
    fake.failNext('finish', { kind: 'drop-after' });
    await expect(call(fake, '/finish', { body: idForm(id) })).rejects.toThrow();
    expect(fake.report(id).state).toBe('finished');
  });

  it('timeout: never answers and does nothing', async () => {
    const before = fake.reports.size;
    const seen = fake.requests.length;
    fake.failNext('submit', { kind: 'timeout' });
    const auth = `Basic ${Buffer.from(`${fake.username}:${fake.password}`).toString('base64')}`;
    const giveUp = new AbortController();
    const res = fetch(`${fake.url}/submit`, { method: 'POST', headers: { authorization: auth, 'content-type': xml }, body: report(), signal: giveUp.signal });
    // the fake has the whole request (and took the injected failure) before the client gives up
    await until(() => fake.requests.slice(seen).some((r) => r.path === '/ispws/submit'), { what: 'the submit to reach the fake' });
    giveUp.abort();
    await expect(res).rejects.toThrow(/abort/i);
    expect(fake.reports.size).toBe(before);
  });

  it('can answer every error with HTTP 200 (errorsAsHttp200)', async () => {
    const a = await call(http200, '/finish', { body: idForm('123') });
    expect([a.status, a.code]).toEqual([200, 5001]);
  });
});
