import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GenerationView } from '../../src/shared/api';
import { AI_GENERATED_SOURCE_TYPE } from '../../src/server/domain/media/provenance';
import { ffmpegPath, runTool } from '../../src/server/lib/ffmpeg';
import { readC2pa } from '../helpers/c2pa-reader';
import { startGenerationsApp, waitFinal } from '../integration/generations/setup';

// Privacy policy section 9: AI safety and moderation.

/** mean brightness of the bottom-right corner of a video's last frame */
async function cornerBrightness(video: Buffer): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-corner-'));
  try {
    fs.writeFileSync(path.join(dir, 'v.mp4'), video);
    await runTool(
      ffmpegPath(),
      [
        '-v',
        'error',
        '-sseof',
        '-0.5',
        '-i',
        path.join(dir, 'v.mp4'),
        '-frames:v',
        '1',
        '-vf',
        'crop=iw/3:ih/8:iw*2/3:ih*7/8,format=gray',
        '-f',
        'rawvideo',
        path.join(dir, 'c.gray'),
      ],
      { timeoutMs: 30_000 },
    );
    const px = fs.readFileSync(path.join(dir, 'c.gray'));
    return px.reduce((n, b) => n + b, 0) / px.length;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function videoOf(env: Record<string, string>): Promise<{ id: string; video: Buffer; poster: Buffer }> {
  const g = await startGenerationsApp(env);
  try {
    const c = await g.user('policy-9@example.com', 10);
    // a plain prompt: the local renderer's own caption sits bottom-left, not where the watermark goes
    const res = await c.post('/api/generations', { model: 'local-preview', prompt: 'dark', duration: 2, resolution: '480p' });
    const v = await waitFinal(c, res.json<GenerationView>().id);
    expect(v.status).toBe('succeeded');
    const get = async (p: string) => Buffer.from(await (await fetch((await c.get(p)).headers.get('location')!)).arrayBuffer());
    return { id: v.id, video: await get(v.output!.videoUrl), poster: await get(v.output!.thumbnailUrl!) };
  } finally {
    await g.close();
  }
}

describe('9 AI safety and content moderation', () => {
  it.todo('9 prompts, references and outputs are screened; flagged items go to the trust & safety queue');
  it.todo('9 prohibited content is blocked or quarantined and the account can be suspended');
  it('9 outputs carry provenance (C2PA manifest, optional visible watermark)', async () => {
    const plain = await videoOf({});
    for (const file of [plain.video, plain.poster]) {
      const manifest = readC2pa(file)!.active;
      expect(JSON.stringify(manifest.assertions.find((a) => a.label.startsWith('c2pa.actions'))!.data)).toContain(AI_GENERATED_SOURCE_TYPE);
      expect(manifest.assertions.find((a) => a.label === 'com.savesora.generation')!.data).toMatchObject({ generationId: plain.id, modelId: 'local-preview' });
    }
    // with OUTPUT_WATERMARK the text is drawn in the corner, and the manifest is still there
    const marked = await videoOf({ OUTPUT_WATERMARK: 'AI GENERATED' });
    expect(readC2pa(marked.video)!.active.assertions.some((a) => a.label === 'com.savesora.generation')).toBe(true);
    expect((await cornerBrightness(marked.video)) - (await cornerBrightness(plain.video))).toBeGreaterThan(3);
  });
});
