import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail, GenerationView, QueueResponse } from '../../src/shared/api';
import { TestClient } from '../helpers/client';
import { startSafetyApp, type SafetyApp } from './safety-setup';
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

describe('9 AI safety and content moderation: screening, the queue, suspension', () => {
  let s: SafetyApp;
  beforeAll(async () => {
    s = await startSafetyApp();
  });
  afterAll(() => s.close());

  it('9 prompts, references and outputs are screened; flagged items go to the trust & safety queue', async () => {
    const c = await s.g.user('policy-9-queue@example.com', 1000);
    // a flagged input goes ahead, and a person reviews it
    const flagged = await c.post('/api/generations', {
      model: 'kling-3.0',
      prompt: 'a quiet harbour',
      negativePrompt: 'nude people',
      duration: 5,
      resolution: '720p',
    });
    expect(flagged.status, flagged.body).toBe(202);
    // the model provider's own classifier refuses another
    const refused = await c.post('/api/generations', {
      model: 'kling-3.0',
      prompt: 'refused [fake:policy-after-accept]',
      duration: 3,
      resolution: '720p',
      audio: false,
    });
    const done = await waitFinal(c, refused.json<GenerationView>().id);
    expect(done).toMatchObject({ status: 'failed', failure: { code: 'policy', refunded: true } });

    const queue = (await s.moderator.get('/api/moderation/queue')).json<QueueResponse>();
    const mine = queue.items.filter((i) => i.userId === c.userId);
    expect(mine.map((i) => i.generationId).sort()).toEqual([flagged.json<GenerationView>().id, done.id].sort());
    expect(mine.find((i) => i.generationId === done.id)).toBeDefined();
    const refusal = (await s.moderator.get(`/api/moderation/cases/${mine.find((i) => i.generationId === done.id)!.id}`)).json<CaseDetail>();
    expect(refusal.events.map((e) => e.kind)).toEqual(['provider_refusal']);
    const prompt = mine.find((i) => i.generationId === flagged.json<GenerationView>().id)!;
    expect(prompt.texts).toEqual([{ input: 'negative_prompt', text: 'nude people' }]);
    // users cannot see the queue (for them it does not exist)
    expect((await c.get('/api/moderation/queue')).status).toBe(404);
  });

  it('9 prohibited content is blocked or quarantined and the account can be suspended', async () => {
    const c = await s.g.user('policy-9-strikes@example.com', 100);
    const threshold = s.g.app.config.MODERATION_STRIKES_TO_SUSPEND;
    for (let i = 0; i < threshold; i++) {
      const res = await c.post('/api/generations', { model: 'local-preview', prompt: `porn scene number ${i}`, duration: 2, resolution: '480p' });
      expect(res.status).toBe(422);
    }
    const cases = (await s.moderator.get('/api/moderation/queue')).json<QueueResponse>().items.filter((i) => i.userId === c.userId);
    expect(cases).toHaveLength(threshold);
    for (const k of cases) {
      const decided = await s.moderator.post(`/api/moderation/cases/${k.id}/decision`, { decision: 'remove_strike', reason: 'explicit prompt' });
      expect(decided.status, decided.body).toBe(200);
    }
    // the last strike suspended the account: signed out, sign-in refused with the reason and a way to appeal
    expect((await c.get('/api/me')).status).toBe(401);
    const signIn = await new TestClient(s.g.app.url).post('/api/auth/sign-in/email', { email: 'policy-9-strikes@example.com', password: 'a fine password 1' });
    expect(signIn.status).toBe(403);
    expect(signIn.json<{ error: { code: string; appealToken?: string } }>().error).toMatchObject({
      code: 'account_suspended',
      appealToken: expect.any(String),
    });
    // every decision is in the audit trail: who, what, why
    const last = (await s.moderator.get(`/api/moderation/cases/${cases.at(-1)!.id}`)).json<CaseDetail>();
    const decisions = last.events.filter((e) => e.kind === 'decision');
    expect(decisions.map((d) => [d.action, d.actorId, d.note])).toEqual([
      ['remove_strike', s.moderator.userId, 'explicit prompt'],
      ['auto_suspend', null, expect.any(String)],
    ]);
  });
});

describe('9 AI safety and content moderation: provenance', () => {
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
