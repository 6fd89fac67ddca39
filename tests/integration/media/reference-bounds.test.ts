import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeStreams } from '../../../src/server/domain/media/sniff';
import { ffmpegPath, runTool } from '../../../src/server/lib/ffmpeg';
import type { MediaView } from '../../../src/shared/api/media';
import type { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { startGenerationsApp, type GenerationsApp } from '../generations/setup';

/**
 * Video references have a frame bound (4K in either orientation), checked from ffprobe's header
 * facts before anything decodes a frame: a few KB of MJPEG that declare 12000x12000 would make
 * the poster step allocate hundreds of MB.
 */

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-bounds-'));
let env: GenerationsApp;
let alice: TestClient & { userId: string };
let small: Buffer;
let huge: Buffer;

const ff = (args: string[]) => runTool(ffmpegPath(), ['-y', '-v', 'error', ...args], { timeoutMs: 60_000 });

/**
 * An MJPEG QuickTime file whose headers declare `width` x `height`: a tiny real MJPEG made by
 * ffmpeg, with the size written into the sample description, the track header and every JPEG
 * frame header (encoding a real 12000x12000 frame would take ~800 MB and seconds here; to a
 * prober, and to a decoder, this file is 12000x12000).
 */
function declareSize(mov: Buffer, width: number, height: number): Buffer {
  const b = Buffer.from(mov);
  const entry = b.indexOf('jpeg', b.indexOf('stsd')) - 4; // sample entry: width, height at +32, +34
  b.writeUInt16BE(width, entry + 32);
  b.writeUInt16BE(height, entry + 34);
  const tkhd = b.indexOf('tkhd') - 4; // 16.16 fixed width, height at +84, +88
  b.writeUInt32BE(width * 65536, tkhd + 84);
  b.writeUInt32BE(height * 65536, tkhd + 88);
  const sof0 = Buffer.from([0xff, 0xc0]); // FF C0, length, precision, height, width
  for (let p = b.indexOf(sof0); p >= 0; p = b.indexOf(sof0, p + 2)) {
    b.writeUInt16BE(height, p + 5);
    b.writeUInt16BE(width, p + 7);
  }
  return b;
}

beforeAll(async () => {
  const mjpeg = path.join(work, 'small.mov');
  await ff(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=4:duration=3', '-c:v', 'mjpeg', '-q:v', '5', mjpeg]);
  small = fs.readFileSync(mjpeg);
  huge = declareSize(small, 12000, 12000);
  fs.writeFileSync(path.join(work, 'huge.mov'), huge);
  env = await startGenerationsApp();
  alice = await env.user('alice-bounds@example.com', 0);
}, 120_000);

afterAll(async () => {
  await closeAll(env);
  fs.rmSync(work, { recursive: true, force: true });
});

describe('video reference frame bound', () => {
  it('the fixture is what ffprobe calls a 12000x12000 MJPEG video of a few KB', async () => {
    const facts = await probeStreams(path.join(work, 'huge.mov'));
    expect([facts.videoCodec, facts.width, facts.height]).toEqual(['mjpeg', 12000, 12000]);
    expect(huge.length).toBeLessThan(50_000);
  });

  it('a 12000x12000 video reference is refused with 400 reference_too_large, and nothing is stored', async () => {
    const res = await alice.upload('/api/uploads', { data: huge, name: 'bomb.mov', type: 'video/quicktime' });
    expect(res.status, res.body).toBe(400);
    const { error } = res.json<{ error: { code: string; message: string; fields: { field: string; message: string }[] } }>();
    expect(error.code).toBe('reference_too_large');
    expect(error.message).toBe('Video references can be at most 3840x2160 or 2160x3840 (got 12000x12000).');
    expect(error.fields).toEqual([{ field: 'file', message: error.message }]);
    const [{ n }] = (await env.app.platform.ctx.database.sql.query<{ n: number }>('select count(*)::int as n from media where user_id = $1', [
      alice.userId,
    ])) as [{ n: number }];
    expect(n).toBe(0);
  });

  it('the same video at its real small size is accepted, with a poster', async () => {
    const res = await alice.upload('/api/uploads', { data: small, name: 'small.mov', type: 'video/quicktime' });
    expect(res.status, res.body).toBe(201);
    expect(res.json<MediaView>()).toMatchObject({ kind: 'video', width: 64, height: 48 });
    expect(res.json<MediaView>().previewUrl).toBeTruthy();
  });
});
