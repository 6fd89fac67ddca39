import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { DbHandle } from '../../src/server/db/client';
import { insertGeneration, type GenerationRow, type NewGeneration } from '../../src/server/domain/generations/generations.repo';

/**
 * A generation row written straight into the table (no render, no provider), for tests about
 * what happens to rows: listings, purges, holds, cases. A 2-second 480p local-preview by default.
 */
export function seedGeneration(db: DbHandle, userId: string, over: Partial<NewGeneration> = {}, now = new Date()): Promise<GenerationRow> {
  return insertGeneration(
    db,
    {
      id: randomUUID(),
      userId,
      modelId: 'local-preview',
      mode: 'text-to-video',
      prompt: 'a seeded scene',
      durationSeconds: 2,
      resolution: '480p',
      aspectRatio: '16:9',
      audio: false,
      references: [],
      priceCredits: 2,
      source: 'web',
      deadlineSeconds: 600,
      ...over,
    },
    now,
  );
}

/** A PNG of pseudo-random pixels, different per seed: detailed enough for a perceptual hash (PDQ quality well above 50). */
export async function noisePicture(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(96 * 64 * 3);
  let x = seed;
  for (let i = 0; i < raw.length; i++) raw[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return sharp(raw, { raw: { width: 96, height: 64, channels: 3 } })
    .png()
    .toBuffer();
}
