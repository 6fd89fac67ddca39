import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { expect } from 'vitest';
import { sampleFrames } from '../../src/server/adapters/moderation/frames';
import { HashListMatcher } from '../../src/server/adapters/moderation/hash-matcher';
import { cyberTipEnv, startFakeCyberTip, type FakeCyberTip } from '../fakes/ncmec';
import { startGenerationsApp, type GenerationsApp } from '../integration/generations/setup';
import { noisePicture } from '../helpers/seed';

/**
 * The platform as an operator runs it for the trust & safety promises (privacy policy 2, 4.4, 9):
 * the real screening pipeline, the review queue over HTTP, and NCMEC's CyberTipline as a local fake.
 */
export interface SafetyApp {
  g: GenerationsApp;
  tip: FakeCyberTip;
  admin: Awaited<ReturnType<GenerationsApp['user']>>;
  moderator: Awaited<ReturnType<GenerationsApp['user']>>;
  /** a detailed picture, different per seed */
  picture(seed: number): Promise<Buffer>;
  /** the admin imports a hash list (the format hash-sharing programmes deliver) */
  importList(body: { name: string; category: string; kind: 'sha256' | 'pdq'; hashes: string[] }): Promise<void>;
  /** the PDQ hashes of the frames screening samples from a stored output */
  framePdqs(generationId: string): Promise<string[]>;
  close(): Promise<void>;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function startSafetyApp(): Promise<SafetyApp> {
  const tip = await startFakeCyberTip();
  const g = await startGenerationsApp(cyberTipEnv(tip));
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'savesora-policy-safety-'));
  const admin = await g.user('policy-admin@example.com', 0);
  await g.app.platform.ctx.services.users.setRole('policy-admin@example.com', 'admin');
  const moderator = await g.user('policy-moderator@example.com', 0);
  await g.app.platform.ctx.services.users.setRole('policy-moderator@example.com', 'moderator');
  return {
    g,
    tip,
    admin,
    moderator,
    picture: noisePicture,
    async importList({ name, category, kind, hashes }) {
      const res = await admin.post('/api/moderation/hash-lists', { name, category, format: 'text', kind, content: hashes.join('\n') });
      expect(res.status, res.body).toBe(201);
    },
    async framePdqs(generationId) {
      const [row] = await g.app.db.sql.query<{ output_url: string }>('select output_url from generations where id = $1', [generationId]);
      const file = path.join(work, `${generationId}.mp4`);
      await pipeline((await g.app.platform.ctx.store.get(row!.output_url.slice('store:'.length))).body, createWriteStream(file));
      const frames = await sampleFrames(file, { count: g.app.config.MODERATION_VIDEO_FRAMES, maxSide: 512 });
      const hasher = new HashListMatcher();
      const hashes = await Promise.all(frames.map((f) => hasher.hashesWithQuality(f)));
      return hashes.filter((h) => h.pdqQuality >= 50).map((h) => h.pdq);
    },
    async close() {
      await g.close();
      await tip.close();
      await fs.rm(work, { recursive: true, force: true });
    },
  };
}
