import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath, runTool } from '../../lib/ffmpeg';
import { FrameSamplingError, frameTimes, sampleFrames } from './frames';

let dir: string;
let video: string;
let portrait: string;

async function render(name: string, source: string) {
  const file = path.join(dir, name);
  await runTool(
    ffmpegPath(),
    ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', source, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file],
    {
      timeoutMs: 120_000,
    },
  );
  return file;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'savesora-frames-test-'));
  // testsrc2 draws a running frame counter: different times give different pictures
  video = await render('landscape.mp4', 'testsrc2=size=640x360:rate=25:duration=4');
  portrait = await render('portrait.mp4', 'testsrc2=size=180x320:rate=25:duration=1');
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

describe('sampleFrames', () => {
  it('spreads the times evenly: the middle of each equal span', () => {
    expect(frameTimes(10, 5)).toEqual([1, 3, 5, 7, 9]);
    expect(frameTimes(4, 1)).toEqual([2]);
    expect(frameTimes(1, 3)).toEqual([0.167, 0.5, 0.833]);
    // unknown duration (a stream without one): the first frame only
    expect(frameTimes(0, 5)).toEqual([0]);
    expect(frameTimes(Number.NaN, 5)).toEqual([0]);
  });

  it('returns `count` JPEG frames, different pictures, no larger than maxSide, with their times', async () => {
    const frames = await sampleFrames(video, { count: 4, maxSide: 320 });
    expect(frames.map((f) => f.atSeconds)).toEqual([0.5, 1.5, 2.5, 3.5]);
    const metas = await Promise.all(frames.map((f) => sharp(f.bytes).metadata()));
    for (const [i, meta] of metas.entries()) {
      expect(frames[i]!.mime).toBe('image/jpeg');
      expect(meta.format).toBe('jpeg');
      expect([meta.width, meta.height]).toEqual([320, 180]);
    }
    const distinct = new Set(frames.map((f) => Buffer.from(f.bytes).toString('base64')));
    expect(distinct.size).toBe(4);
  });

  it('keeps the aspect of a portrait video, never enlarges, and writes PNG on request', async () => {
    const frames = await sampleFrames(portrait, { count: 2, maxSide: 1000, format: 'png' });
    expect(frames).toHaveLength(2);
    const meta = await sharp(frames[0]!.bytes).metadata();
    expect(frames[0]!.mime).toBe('image/png');
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 180, 320]);
    const scaled = await sharp((await sampleFrames(portrait, { count: 1, maxSide: 160 }))[0]!.bytes).metadata();
    expect([scaled.width, scaled.height]).toEqual([90, 160]);
  });

  it('takes the same frames by seeking (long videos) as in one pass (short ones), more than one process holds', async () => {
    const onePass = await sampleFrames(video, { count: 10, maxSide: 64, strategy: 'single-pass' });
    const seeking = await sampleFrames(video, { count: 10, maxSide: 64, strategy: 'seek' });
    expect(seeking.map((f) => f.atSeconds)).toEqual(frameTimes(4, 10));
    expect(onePass.map((f) => f.atSeconds)).toEqual(frameTimes(4, 10));
    // the same decoded pictures, encoded the same way
    expect(seeking.map((f) => Buffer.from(f.bytes).toString('base64'))).toEqual(onePass.map((f) => Buffer.from(f.bytes).toString('base64')));
  });

  it('says clearly when the file is not a video, and refuses silly arguments', async () => {
    const notVideo = path.join(dir, 'notes.mp4');
    await fs.writeFile(notVideo, 'this is not a video');
    await expect(sampleFrames(notVideo, { count: 3, maxSide: 320 })).rejects.toThrow(FrameSamplingError);
    await expect(sampleFrames(notVideo, { count: 3, maxSide: 320 })).rejects.toThrow(/frames could not be taken from notes\.mp4/);
    await expect(sampleFrames(video, { count: 0, maxSide: 320 })).rejects.toThrow(RangeError);
    await expect(sampleFrames(video, { count: 3, maxSide: 8 })).rejects.toThrow(/maxSide/);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('the creation was deleted'));
    await expect(sampleFrames(video, { count: 3, maxSide: 320, signal: controller.signal })).rejects.toThrow('the creation was deleted');
  });
});
