import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath, runTool } from '../../lib/ffmpeg';
import { MediaRejected, sniffBytes, sniffFile } from './sniff';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-sniff-'));
const file = (name: string, data: Buffer | string) => {
  const p = path.join(work, name);
  fs.writeFileSync(p, data);
  return p;
};
const ff = (args: string[]) => runTool(ffmpegPath(), ['-y', '-v', 'error', ...args], { timeoutMs: 60_000 });

let mp4: string;
let audioOnlyMp4: string;
let mp3: string;
let wav: string;
let webm: string;

beforeAll(async () => {
  mp4 = path.join(work, 'clip.mp4');
  await ff(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', mp4]);
  audioOnlyMp4 = path.join(work, 'voice.mp4');
  await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', '-f', 'mp4', audioOnlyMp4]);
  mp3 = path.join(work, 'tone.mp3');
  await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'libmp3lame', mp3]);
  wav = path.join(work, 'tone.wav');
  await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'pcm_s16le', wav]);
  webm = path.join(work, 'clip.webm');
  await ff(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'libvpx', '-b:v', '200k', webm]);
}, 60_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const rejection = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MediaRejected);
    return (err as Error).message;
  }
  throw new Error('not rejected');
};

describe('sniffBytes (magic numbers)', () => {
  it('recognizes images', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    const jpg = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
      .jpeg()
      .toBuffer();
    const webp = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
      .webp()
      .toBuffer();
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
      .gif()
      .toBuffer();
    expect(sniffBytes(png)).toEqual({ kind: 'image', format: 'png' });
    expect(sniffBytes(jpg)).toEqual({ kind: 'image', format: 'jpeg' });
    expect(sniffBytes(webp)).toEqual({ kind: 'image', format: 'webp' });
    expect(sniffBytes(gif)).toEqual({ kind: 'image', format: 'gif' });
  });

  it('recognizes video and audio containers', () => {
    expect(sniffBytes(fs.readFileSync(mp4))).toEqual({ kind: 'video', format: 'mp4' });
    expect(sniffBytes(fs.readFileSync(webm))).toEqual({ kind: 'video', format: 'webm' });
    expect(sniffBytes(fs.readFileSync(mp3))).toEqual({ kind: 'audio', format: 'mp3' });
    expect(sniffBytes(fs.readFileSync(wav))).toEqual({ kind: 'audio', format: 'wav' });
    expect(sniffBytes(Buffer.from([0, 0, 0, 0x20, ...Buffer.from('ftypqt  ')]))).toEqual({ kind: 'video', format: 'mov' });
    expect(sniffBytes(Buffer.from([0, 0, 0, 0x20, ...Buffer.from('ftypM4A ')]))).toEqual({ kind: 'audio', format: 'm4a' });
    expect(sniffBytes(Buffer.from([0xff, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc]))).toEqual({ kind: 'audio', format: 'aac' });
    expect(sniffBytes(Buffer.from([0xff, 0xfb, 0x90, 0x64, 0, 0, 0]))).toEqual({ kind: 'audio', format: 'mp3' });
  });

  it('refuses executables, archives, documents, markup and text', () => {
    expect(rejection(() => sniffBytes(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...Buffer.alloc(100)])))).toMatch(/executable program \(ELF\)/);
    expect(rejection(() => sniffBytes(Buffer.concat([Buffer.from('MZ\x90\x00'), Buffer.alloc(100)])))).toMatch(/executable program \(Windows\)/);
    expect(rejection(() => sniffBytes(Buffer.from('PK\x03\x04 zip zip')))).toMatch(/ZIP archive/);
    expect(rejection(() => sniffBytes(Buffer.from('%PDF-1.7\n...')))).toMatch(/PDF document/);
    expect(rejection(() => sniffBytes(Buffer.from('<!DOCTYPE html><html><script>alert(1)</script>')))).toMatch(/HTML or XML/);
    expect(rejection(() => sniffBytes(Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>')))).toMatch(
      /SVG images are not accepted/,
    );
    expect(rejection(() => sniffBytes(Buffer.from('hello, this is just a text file\nwith two lines\n')))).toMatch(/This file is text/);
    expect(rejection(() => sniffBytes(Buffer.from([1, 2])))).toMatch(/empty or too short/);
    expect(rejection(() => sniffBytes(Buffer.from([0x00, 0x01, 0x02, 0x03, 0x9c, 0x88, 0x11, 0x00])))).toMatch(/not a supported image, video or audio file/);
  });
});

describe('sniffFile (magic numbers + ffprobe)', () => {
  it('confirms a video with ffprobe', async () => {
    const r = await sniffFile(mp4);
    expect([r.kind, r.format, r.probe?.videoCodec, r.probe?.width, r.probe?.height]).toEqual(['video', 'mp4', 'h264', 160, 120]);
    expect(r.probe!.durationSeconds).toBeGreaterThan(0.5);
  });

  it('an MP4 holding only sound is audio', async () => {
    const r = await sniffFile(audioOnlyMp4);
    expect([r.kind, r.format, r.probe?.audioCodec]).toEqual(['audio', 'm4a', 'aac']);
  });

  it('confirms MP3 and WAV', async () => {
    expect((await sniffFile(mp3)).kind).toBe('audio');
    expect((await sniffFile(wav)).probe?.audioCodec).toBe('pcm_s16le');
  });

  it('a renamed executable (named .mp4) is refused', async () => {
    const elf = file('movie.mp4', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4000, 0x90)]));
    await expect(sniffFile(elf)).rejects.toThrow(/executable program/);
  });

  it('a text file named .png is refused', async () => {
    const txt = file('photo.png', 'definitely not a picture\n'.repeat(20));
    await expect(sniffFile(txt)).rejects.toThrow(/This file is text/);
  });

  it('an ftyp header with garbage after it is refused by ffprobe', async () => {
    const fake = file('fake.mp4', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(5000, 0x41)]));
    await expect(sniffFile(fake)).rejects.toBeInstanceOf(MediaRejected);
  });
});
