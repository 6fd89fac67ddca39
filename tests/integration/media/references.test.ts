import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView, MediaView } from '../../../src/shared/api';
import { closeAll } from '../../helpers/close';
import { balances, startGenerationsApp, waitFinal, type GenerationsApp } from '../generations/setup';
import { until } from '../../helpers/wait';

/**
 * References in generations: uploaded files (owned, of the right kind, within the model's limits)
 * reach the provider as short-lived signed URLs of our store; URL references are fetched into the
 * user's library first (SSRF-safe), so no provider ever fetches a user's URL.
 */
let g: GenerationsApp;
/** set once it exists, for afterAll */
let fixture: http.Server | undefined;
let fixtureUrl: string;
let png: Buffer;
const served: string[] = [];

beforeAll(async () => {
  png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#2266cc' } })
    .png()
    .toBuffer();
  const server = http.createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/frame.png') return res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
    // a public-looking URL that redirects into a private network (cloud metadata address)
    if (req.url === '/sneaky.png') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    res.writeHead(404).end();
  });
  fixture = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  fixtureUrl = `http://127.0.0.1:${port}`;
  // the fixture stands in for a public web server: only its host:port is let through
  g = await startGenerationsApp({ REFERENCE_FETCH_ALLOW_HOSTS: `127.0.0.1:${port}` });
}, 120_000);

afterAll(async () => {
  await closeAll(g);
  await new Promise((r) => fixture?.close(r));
});

const i2v = (references: unknown[]) => ({
  model: 'local-preview',
  mode: 'image-to-video',
  prompt: 'from my picture',
  duration: 2,
  resolution: '480p',
  references,
});

describe('references in generations', () => {
  it('an uploaded image drives an image-to-video generation; the provider gets a signed URL of our copy', async () => {
    const c = await g.user('ref-upload@example.com', 200);
    const up = await c.upload('/api/uploads', { data: png, name: 'frame.png', type: 'image/png' });
    expect(up.status, up.body).toBe(201);
    const media = up.json<MediaView>();

    const res = await c.post('/api/generations', i2v([{ kind: 'image', mediaId: media.id }]));
    expect(res.status, res.body).toBe(202);
    const created = res.json<GenerationView>();
    expect(created.references).toEqual([{ kind: 'image', role: 'first_frame', mediaId: media.id }]);
    const done = await waitFinal(c, created.id);
    expect(done.status, JSON.stringify(done.failure)).toBe('succeeded');
    // the task recorded what the file is, from our copy
    const [row] = await g.app.db.sql.query<{ references: Array<Record<string, unknown>> }>('select "references" from generations where id = $1', [created.id]);
    expect(row!.references[0]).toMatchObject({ mediaId: media.id, mimeType: media.contentType, sizeBytes: media.sizeBytes });

    // an upstream provider (the fake KIE) receives a short-lived signed URL of our stored copy
    const veo = await c.post('/api/generations', {
      model: 'veo-3.1-fast',
      mode: 'image-to-video',
      prompt: 'from my picture',
      references: [{ kind: 'image', mediaId: media.id }],
    });
    expect(veo.status, veo.body).toBe(202);
    const task = await until(() => [...g.kie.tasks.values()].find((k) => k.callBackUrl?.includes(veo.json<GenerationView>().id)), {
      app: g.app,
      what: 'KIE to get the task',
    });
    const sent = JSON.stringify(task.body);
    const signed = new RegExp(`${g.app.url}/files/uploads/[a-z0-9-]+/${media.id}/original\\.(jpg|png)\\?exp=\\d+[^"]*sig=`);
    expect(sent).toMatch(signed);
    const url = signed.exec(sent)![0];
    const full = JSON.parse(`"${sent.slice(sent.indexOf(url)).split('"')[0]!}"`) as string;
    const exp = Number(new URL(full).searchParams.get('exp'));
    expect(exp * 1000 - Date.now()).toBeLessThanOrEqual(6 * 3600_000 + 5000);
    expect((await fetch(full)).status).toBe(200);
  });

  it("refuses someone else's file, a deleted file, and a file of another kind, naming the reference", async () => {
    const a = await g.user('ref-owner@example.com', 10);
    const b = await g.user('ref-thief@example.com', 10);
    const mine = (await a.upload('/api/uploads', { data: png, name: 'a.png', type: 'image/png' })).json<MediaView>();

    const stolen = await b.post('/api/generations', i2v([{ kind: 'image', mediaId: mine.id }]));
    expect(stolen.status).toBe(400);
    expect(stolen.json().error.fields).toEqual([expect.objectContaining({ field: 'references.0.mediaId' })]);

    const wav = await a.upload('/api/uploads', { data: await toneWav(), name: 'tone.wav', type: 'audio/wav' });
    expect(wav.status, wav.body).toBe(201);
    const wrongKind = await a.post('/api/generations', i2v([{ kind: 'image', mediaId: wav.json<MediaView>().id }]));
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.json().error.fields).toEqual([
      expect.objectContaining({ field: 'references.0.kind', message: 'Reference 1 is an audio file, not an image.' }),
    ]);

    expect((await a.delete(`/api/uploads/${mine.id}`)).status).toBe(204);
    const deleted = await a.post('/api/generations', i2v([{ kind: 'image', mediaId: mine.id }]));
    expect(deleted.status).toBe(400);
    expect(deleted.json().error.fields[0].message).toMatch(/not one of your uploaded files/);
    // nothing was held for any of them
    expect(await balances(a)).toEqual({ balance: 10, held: 0 });
    expect(await balances(b)).toEqual({ balance: 10, held: 0 });
  });

  it('a URL reference is fetched into the library at dispatch, and the task then uses our copy', async () => {
    const c = await g.user('ref-url@example.com', 10);
    const res = await c.post('/api/generations', i2v([{ kind: 'image', url: `${fixtureUrl}/frame.png` }]));
    expect(res.status, res.body).toBe(202);
    const done = await waitFinal(c, res.json<GenerationView>().id);
    expect(done.status, JSON.stringify(done.failure)).toBe('succeeded');
    const library = (await c.get('/api/uploads')).json<{ items: MediaView[] }>().items;
    expect(library).toEqual([expect.objectContaining({ kind: 'image', source: 'url', name: 'frame.png', width: 96, height: 64 })]);
    expect(done.references).toEqual([expect.objectContaining({ kind: 'image', url: `${fixtureUrl}/frame.png`, mediaId: library[0]!.id })]);
    expect(served.filter((u) => u === '/frame.png')).toHaveLength(1);
  });

  it('a URL reference that redirects into a private network fails the task (refunded); private URLs are refused at submit', async () => {
    const c = await g.user('ref-ssrf@example.com', 10);
    const refused = await c.post('/api/generations', i2v([{ kind: 'image', url: 'http://10.1.2.3/frame.png' }]));
    expect(refused.status).toBe(400);
    expect(refused.json().error.fields).toEqual([{ field: 'references.0.url', message: 'The reference URL points to a private or reserved network address.' }]);

    const res = await c.post('/api/generations', i2v([{ kind: 'image', url: `${fixtureUrl}/sneaky.png` }]));
    expect(res.status, res.body).toBe(202);
    const done = await waitFinal(c, res.json<GenerationView>().id);
    expect(done.status).toBe('failed');
    expect(done.failure).toMatchObject({ code: 'invalid_input', refunded: true });
    const [row] = await g.app.db.sql.query<{ failure_detail: string }>('select failure_detail from generations where id = $1', [done.id]);
    expect(row!.failure_detail).toMatch(/private or reserved network address/);
    expect(await balances(c)).toEqual({ balance: 10, held: 0 });
  });
});

async function toneWav(): Promise<Buffer> {
  // 0.5 s of a 440 Hz tone, 8 kHz mono 16-bit PCM
  const rate = 8000;
  const samples = rate / 2;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
